//! `globalHeaders()`: fixed headers added to every request (before routing,
//! so handlers see them) and to every response outside excluded paths.
//! Both are set only when absent: a client's or a handler's value wins.

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use serde::Deserialize;

use super::{header_name, header_value, set_absent};
use crate::response::is_connection_header;

/// `globalHeaders()` settings; `lib/native.ts` documents the defaults.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct GlobalHeadersConfig {
    /// Response headers, in order.
    response: Vec<(String, String)>,
    /// Request headers, in order.
    request: Vec<(String, String)>,
    /// Path prefixes whose responses get no global headers.
    exclude: Vec<String>,
}

/// The checked header pairs.
pub(crate) struct GlobalHeaders {
    response: Vec<(HeaderName, HeaderValue)>,
    request: Vec<(HeaderName, HeaderValue)>,
    exclude: Vec<String>,
}

/// Checks the pairs. Framing and hop-by-hop headers
/// (`response::CONNECTION_HEADERS`) are refused: added to every message
/// that lacks them, a `content-length` would contradict most bodies and
/// desync keep-alive connections, as a handler's would.
fn pairs(list: &[(String, String)]) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    list.iter()
        .map(|(n, v)| {
            let name = header_name("globalHeaders", n)?;
            if is_connection_header(&name) {
                return Err(format!(
                    "globalHeaders: {name} cannot be a global header (Ferry frames messages itself)"
                ));
            }
            Ok((name, header_value("globalHeaders", v)?))
        })
        .collect()
}

impl GlobalHeaders {
    /// Checks the names, values and prefixes.
    pub(crate) fn new(config: &GlobalHeadersConfig) -> Result<GlobalHeaders, String> {
        if let Some(bad) = config.exclude.iter().find(|p| !p.starts_with('/')) {
            return Err(format!(
                "globalHeaders: exclude prefix {bad:?} must start with \"/\""
            ));
        }
        Ok(GlobalHeaders {
            response: pairs(&config.response)?,
            request: pairs(&config.request)?,
            exclude: config.exclude.clone(),
        })
    }

    /// Whether `path` is under an excluded prefix. Prefixes match whole
    /// segments: `/health` covers `/health` and `/health/db`, not `/healthz`.
    pub(crate) fn excludes(&self, path: &str) -> bool {
        self.exclude.iter().any(|prefix| {
            path.strip_prefix(prefix.as_str()).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/')
            })
        })
    }

    /// Adds the request headers the client did not send.
    pub(crate) fn on_request(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.request {
            set_absent(headers, name, value);
        }
    }

    /// Adds the response headers the response lacks.
    pub(crate) fn on_response(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.response {
            set_absent(headers, name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_matches_whole_segments() {
        let config = r#"{"response":[["x-a","1"]],"request":[],"exclude":["/health","/static/"]}"#;
        let g = GlobalHeaders::new(&serde_json::from_str(config).unwrap()).unwrap();
        assert!(g.excludes("/health"));
        assert!(g.excludes("/health/db"));
        assert!(!g.excludes("/healthz"));
        assert!(g.excludes("/static/a.css"));
        assert!(!g.excludes("/"));
    }

    #[test]
    fn bad_names_are_refused() {
        let config = r#"{"response":[["bad name","1"]],"request":[],"exclude":[]}"#;
        assert!(GlobalHeaders::new(&serde_json::from_str(config).unwrap()).is_err());
    }

    #[test]
    fn framing_and_hop_by_hop_headers_are_refused_on_both_sides() {
        for side in ["response", "request"] {
            let config = format!(
                r#"{{"{side}":[["Transfer-Encoding","chunked"]],"{}":[],"exclude":[]}}"#,
                if side == "response" {
                    "request"
                } else {
                    "response"
                }
            );
            let err = GlobalHeaders::new(&serde_json::from_str(&config).unwrap())
                .err()
                .unwrap();
            assert!(err.contains("transfer-encoding"), "{err}");
        }
    }
}
