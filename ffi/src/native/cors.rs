//! `cors()`: preflights answered in Rust, `Access-Control-*` headers added
//! to every response (native, const, static, TypeScript, errors), and never
//! twice (Robyn #1346/#1239 sent the header twice on early returns).
//!
//! Credentials need an explicit list of origins: echoing any `Origin` with
//! `Access-Control-Allow-Credentials: true` would let every site read a
//! logged-in user's responses (issue #11). `lib/native.ts` refuses that
//! configuration first; [`Cors::new`] refuses it again for settings that
//! did not come through `cors()`.

use http::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};
use http::request::Parts;
use http::{HeaderMap, Method, Response, StatusCode};
use serde::Deserialize;

use super::{add_vary, header_value, set_absent};
use crate::body::{empty, Body};

/// Allowed origins: `"*"`, one origin, or a list. The opaque origin `null`
/// (sandboxed frames, `file:` pages, some redirects) is matched only when
/// listed literally.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub(crate) enum Origins {
    /// `"*"` or a single origin.
    One(String),
    /// Exact origins, e.g. `https://app.example`.
    Many(Vec<String>),
}

/// `cors()` settings; `lib/native.ts` documents the defaults.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CorsConfig {
    origin: Origins,
    methods: Vec<String>,
    /// Empty: a preflight's `Access-Control-Request-Headers` is echoed.
    allow_headers: Vec<String>,
    expose_headers: Vec<String>,
    credentials: bool,
    /// Seconds a browser may cache a preflight; `None` sends no header.
    max_age: Option<u64>,
}

/// The checked CORS policy, with every header value built once.
pub(crate) struct Cors {
    /// `None` means any origin, answered `*`; never with credentials.
    allowed: Option<Vec<HeaderValue>>,
    methods: HeaderValue,
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    credentials: bool,
    max_age: Option<HeaderValue>,
}

const ANY: HeaderValue = HeaderValue::from_static("*");
const TRUE: HeaderValue = HeaderValue::from_static("true");

fn joined(owner: &str, items: &[String]) -> Result<Option<HeaderValue>, String> {
    if items.is_empty() {
        return Ok(None);
    }
    header_value(owner, &items.join(", ")).map(Some)
}

impl Cors {
    /// Checks the settings and builds the header values.
    pub(crate) fn new(config: &CorsConfig) -> Result<Cors, String> {
        let origins = match &config.origin {
            Origins::One(one) if one == "*" => None,
            Origins::One(one) => Some(vec![one.clone()]),
            Origins::Many(many) if many.iter().any(|o| o == "*") => None,
            Origins::Many(many) => Some(many.clone()),
        };
        let allowed = match origins {
            None if config.credentials => {
                return Err(
                    "cors: origin \"*\" cannot be used with credentials, since it would \
                     let any site read responses made with the user's cookies; list the allowed \
                     origins explicitly, e.g. origin: [\"https://app.example\"]"
                        .into(),
                )
            }
            None => None,
            Some(list) if list.is_empty() => {
                return Err("cors: origin must not be an empty list".into())
            }
            Some(list) => Some(
                list.iter()
                    .map(|o| header_value("cors", o.trim_end_matches('/')))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let methods = joined("cors", &config.methods)?.ok_or("cors: methods must not be empty")?;
        Ok(Cors {
            allowed,
            methods,
            allow_headers: joined("cors", &config.allow_headers)?,
            expose_headers: joined("cors", &config.expose_headers)?,
            credentials: config.credentials,
            max_age: config.max_age.map(HeaderValue::from),
        })
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, or
    /// `None` when that origin is not allowed. A listed origin is echoed
    /// only on an exact match, so `null` needs `"null"` in the list; `*`
    /// (no credentials, see [`Cors::new`]) is never echoed back.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match (&self.allowed, origin) {
            (None, _) => Some(ANY),
            (Some(list), Some(origin)) => list.iter().find(|o| *o == origin).cloned(),
            (Some(_), None) => None,
        }
    }

    /// For a WebSocket handshake (which browsers send from any page, with no
    /// preflight): whether its `Origin` may open a socket. A request without
    /// `Origin` (not from a browser) may.
    pub(crate) fn allows_socket_from(&self, origin: Option<&HeaderValue>) -> bool {
        origin.is_none() || self.allow_origin(origin).is_some()
    }

    /// Answers a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`) with 204. A disallowed origin gets a
    /// 204 without CORS headers, which the browser treats as a refusal.
    pub(crate) fn preflight(&self, parts: &Parts) -> Option<Response<Body>> {
        let headers = &parts.headers;
        if parts.method != Method::OPTIONS || !headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
            return None;
        }
        let origin = headers.get(ORIGIN)?;
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let out = response.headers_mut();
        if self.allowed.is_some() {
            add_vary(out, "Origin");
        }
        let Some(allow) = self.allow_origin(Some(origin)) else {
            return Some(response);
        };
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        out.insert(ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
        match (
            &self.allow_headers,
            headers.get(ACCESS_CONTROL_REQUEST_HEADERS),
        ) {
            (Some(allow), _) => {
                out.insert(ACCESS_CONTROL_ALLOW_HEADERS, allow.clone());
            }
            (None, Some(requested)) => {
                out.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
                add_vary(out, "Access-Control-Request-Headers");
            }
            (None, None) => {}
        }
        if self.credentials {
            out.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        }
        if let Some(max_age) = &self.max_age {
            out.insert(ACCESS_CONTROL_MAX_AGE, max_age.clone());
        }
        Some(response)
    }

    /// Adds the CORS headers to an actual response. A response that already
    /// names an allowed origin (a preflight, or a handler's own CORS) is
    /// left alone, so the header is never sent twice.
    pub(crate) fn on_response(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        if headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
            return;
        }
        // The answer depends on Origin unless every origin gets `*`: caches
        // must know, even for a response without any CORS header.
        if self.allowed.is_some() {
            add_vary(headers, "Origin");
        }
        let Some(allow) = self.allow_origin(origin) else {
            return;
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.credentials {
            set_absent(headers, &ACCESS_CONTROL_ALLOW_CREDENTIALS, &TRUE);
        }
        if let Some(expose) = &self.expose_headers {
            set_absent(headers, &ACCESS_CONTROL_EXPOSE_HEADERS, expose);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn config(json: &str) -> Result<Cors, String> {
        let base =
            r#"{"methods":["GET","POST"],"allowHeaders":[],"exposeHeaders":[],"maxAge":null,"#;
        Cors::new(&serde_json::from_str(&format!("{base}{json}}}")).unwrap())
    }

    fn cors(json: &str) -> Cors {
        config(&format!(r#""credentials":false,{json}"#)).unwrap()
    }

    fn preflight_parts(origin: &str) -> Parts {
        let req = Request::options("/x")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-a")
            .body(())
            .unwrap();
        req.into_parts().0
    }

    #[test]
    fn preflight_allows_listed_origins_only() {
        let c = cors(r#""origin":["https://a.test","https://b.test"]"#);
        let ok = c.preflight(&preflight_parts("https://b.test")).unwrap();
        assert_eq!(ok.status(), 204);
        assert_eq!(ok.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "https://b.test");
        assert_eq!(ok.headers()[ACCESS_CONTROL_ALLOW_METHODS], "GET, POST");
        assert_eq!(ok.headers()[ACCESS_CONTROL_ALLOW_HEADERS], "x-a");
        let no = c.preflight(&preflight_parts("https://evil.test")).unwrap();
        assert!(no.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[test]
    fn credentials_need_listed_origins_and_null_must_be_listed() {
        for origin in [r#""*""#, r#"["https://a.test","*"]"#] {
            let refused = config(&format!(r#""credentials":true,"origin":{origin}"#));
            assert!(refused.is_err_and(|e| e.contains("list the allowed origins")));
        }
        let c = config(r#""credentials":true,"origin":["https://a.test"]"#).unwrap();
        let allow = |o: &'static str| c.allow_origin(Some(&HeaderValue::from_static(o)));
        assert_eq!(allow("https://a.test").unwrap(), "https://a.test");
        assert_eq!(allow("null"), None);
        assert_eq!(allow("https://a.test.evil"), None);
        assert_eq!(c.allow_origin(None), None);
        let mut headers = HeaderMap::new();
        c.on_response(Some(&HeaderValue::from_static("null")), &mut headers);
        assert!(headers.get(ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
        assert_eq!(headers["vary"], "Origin");
        let listed = cors(r#""origin":["null"]"#);
        let null = HeaderValue::from_static("null");
        assert_eq!(listed.allow_origin(Some(&null)).unwrap(), "null");
        assert_eq!(
            cors(r#""origin":"*""#).allow_origin(Some(&null)).unwrap(),
            "*"
        );
    }

    #[test]
    fn a_plain_options_request_is_not_a_preflight() {
        let c = cors(r#""origin":"*""#);
        let parts = Request::options("/x")
            .header("origin", "https://a.test")
            .body(())
            .unwrap();
        assert!(c.preflight(&parts.into_parts().0).is_none());
    }

    #[test]
    fn response_header_is_never_duplicated() {
        let c = cors(r#""origin":"https://a.test""#);
        let origin = HeaderValue::from_static("https://a.test");
        let mut headers = HeaderMap::new();
        c.on_response(Some(&origin), &mut headers);
        c.on_response(Some(&origin), &mut headers);
        assert_eq!(
            headers.get_all(ACCESS_CONTROL_ALLOW_ORIGIN).iter().count(),
            1
        );
        assert_eq!(headers.get_all("vary").iter().count(), 1);
    }
}
