//! Path scopes of native middleware: `app.use("/api/*", cors())` sends
//! `scopes: { cors: ["/api"] }`, and the middleware then runs only for
//! paths under one of its prefixes. The check is a prefix compare per
//! scoped middleware, once per request, in `Native::on_request`; the
//! outcome is a bitset in the `Exchange`, so `on_response` costs nothing.

use serde::Deserialize;

/// Which middleware a request gets, one bit each.
pub(crate) const CORS: u8 = 1;
pub(crate) const COMPRESS: u8 = 1 << 1;
pub(crate) const SECURITY: u8 = 1 << 2;
pub(crate) const REQUEST_ID: u8 = 1 << 3;
pub(crate) const RATE_LIMIT: u8 = 1 << 4;
pub(crate) const GLOBAL: u8 = 1 << 5;
pub(crate) const LOGGER: u8 = 1 << 6;

/// Prefix lists by middleware; an absent list means every path.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(crate) struct ScopesConfig {
    cors: Option<Vec<String>>,
    compress: Option<Vec<String>>,
    security_headers: Option<Vec<String>>,
    request_id: Option<Vec<String>>,
    rate_limit: Option<Vec<String>>,
    global_headers: Option<Vec<String>>,
    logger: Option<Vec<String>>,
}

/// The scoped middleware of one server, checked per request.
#[derive(Default, Debug)]
pub(crate) struct Scopes {
    /// (bit, prefixes) for each scoped middleware; unscoped ones are absent.
    scoped: Vec<(u8, Vec<String>)>,
}

impl Scopes {
    /// Checks the prefixes: each starts with "/" and has no trailing "/"
    /// (`""` stands for every path).
    pub(crate) fn new(config: &ScopesConfig) -> Result<Scopes, String> {
        let mut scoped = Vec::new();
        for (bit, name, list) in [
            (CORS, "cors", &config.cors),
            (COMPRESS, "compress", &config.compress),
            (SECURITY, "securityHeaders", &config.security_headers),
            (REQUEST_ID, "requestId", &config.request_id),
            (RATE_LIMIT, "rateLimit", &config.rate_limit),
            (GLOBAL, "globalHeaders", &config.global_headers),
            (LOGGER, "logger", &config.logger),
        ] {
            let Some(list) = list else { continue };
            for prefix in list {
                if !(prefix.is_empty() || prefix.starts_with('/') && !prefix.ends_with('/')) {
                    return Err(format!("{name}: bad path prefix {prefix:?}"));
                }
            }
            scoped.push((bit, list.clone()));
        }
        Ok(Scopes { scoped })
    }

    /// The middleware bits that apply to `path`.
    pub(crate) fn active(&self, path: &str) -> u8 {
        let mut on = u8::MAX;
        for (bit, prefixes) in &self.scoped {
            if !prefixes.iter().any(|p| under(path, p)) {
                on &= !bit;
            }
        }
        on
    }
}

/// Whether `path` is `prefix` or below it, by whole segments.
fn under(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        let config: ScopesConfig =
            serde_json::from_str(r#"{"cors":["/api"],"rateLimit":["/login","/signup"]}"#).unwrap();
        let scopes = Scopes::new(&config).unwrap();
        let on = |path| scopes.active(path);
        assert_ne!(on("/api") & CORS, 0);
        assert_ne!(on("/api/x") & CORS, 0);
        assert_eq!(on("/apix") & CORS, 0);
        assert_eq!(on("/") & CORS, 0);
        assert_ne!(on("/signup") & RATE_LIMIT, 0);
        assert_eq!(on("/api") & RATE_LIMIT, 0);
        assert_ne!(
            on("/anything") & COMPRESS,
            0,
            "unscoped middleware always applies"
        );
        let bad: ScopesConfig = serde_json::from_str(r#"{"cors":["api"]}"#).unwrap();
        assert!(Scopes::new(&bad).is_err());
        assert!(serde_json::from_str::<ScopesConfig>(r#"{"timeout":["/a"]}"#).is_err());
    }
}
