//! Native middleware: work Rust does around the TypeScript part of a
//! request, with zero crossings (CORS, compression, security headers,
//! request ids, rate limits, global headers, the handler timeout).
//! Configured once from TypeScript through `ServerConfig::native`; each
//! factory in `lib/native.ts` fills one key of [`NativeConfig`].
//!
//! `on_request` runs after the limit checks and before static files and
//! routing; `on_response` runs on every response, including the early
//! answers of `on_request` (so a 429 or a preflight still carries the
//! request id and the security headers) and errors.

mod accept;
mod compress;
mod compress_stream;
mod cors;
mod global_headers;
mod logger;
mod rate_limit;
mod request_id;
mod scope;
mod security;

use std::net::SocketAddr;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, VARY};
use http::request::Parts;
use http::{HeaderMap, Method, Response};
use serde::Deserialize;

use crate::body::Body;

use crate::accept_encoding::Encoding;
use compress::{Compress, CompressConfig};
use cors::{Cors, CorsConfig};
use global_headers::{GlobalHeaders, GlobalHeadersConfig};
use logger::{Logger, LoggerConfig, Started};
use rate_limit::{RateLimit, RateLimitConfig};
use request_id::{RequestId, RequestIdConfig};
use scope::{Scopes, ScopesConfig};
use security::{SecurityHeaders, SecurityHeadersConfig};

/// Native middleware settings, as sent by TypeScript: one optional key per
/// middleware. Unknown keys are refused so a typo fails `listen()` instead
/// of silently doing nothing.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(crate) struct NativeConfig {
    /// `cors()`.
    pub(crate) cors: Option<CorsConfig>,
    /// `compress()`.
    pub(crate) compress: Option<CompressConfig>,
    /// `securityHeaders()`.
    pub(crate) security_headers: Option<SecurityHeadersConfig>,
    /// `requestId()`.
    pub(crate) request_id: Option<RequestIdConfig>,
    /// `rateLimit()`.
    pub(crate) rate_limit: Option<RateLimitConfig>,
    /// `globalHeaders()`.
    pub(crate) global_headers: Option<GlobalHeadersConfig>,
    /// `timeout()`.
    pub(crate) timeout: Option<TimeoutConfig>,
    /// `logger()`.
    pub(crate) logger: Option<LoggerConfig>,
    /// Path prefixes of the middleware registered with a path.
    pub(crate) scopes: ScopesConfig,
}

/// `timeout(ms)`: how long a handler may take before the server answers 504.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimeoutConfig {
    /// Milliseconds, at least 1.
    pub(crate) ms: u64,
}

/// What `on_request` remembers for `on_response`: only the few request
/// facts the response steps need, so the request itself can move on.
pub(crate) struct Exchange {
    /// A HEAD request: its response has no body to compress.
    head: bool,
    /// The request's `Origin`, when CORS is on and one was sent.
    origin: Option<HeaderValue>,
    /// The negotiated content coding, when compression is on.
    encoding: Option<Encoding>,
    /// The request id given to this request.
    request_id: Option<HeaderValue>,
    /// The path is under an excluded prefix of `globalHeaders()`.
    excluded: bool,
    /// The middleware whose path scope covers this request (`scope` bits).
    active: u8,
    /// Method, path and start time, when `logger()` is on.
    log: Option<Started>,
}

impl Default for Exchange {
    /// A request no path scope was checked for (refused before routing):
    /// every middleware applies to its answer.
    fn default() -> Self {
        Exchange {
            head: false,
            origin: None,
            encoding: None,
            request_id: None,
            excluded: false,
            active: u8::MAX,
            log: None,
        }
    }
}

/// The configured native middleware of one server. Absent middleware cost
/// one `Option` check per request.
#[derive(Default)]
pub(crate) struct Native {
    cors: Option<Cors>,
    compress: Option<Compress>,
    security: Option<SecurityHeaders>,
    request_id: Option<RequestId>,
    rate_limit: Option<RateLimit>,
    global: Option<GlobalHeaders>,
    timeout: Option<Duration>,
    logger: Option<Logger>,
    scopes: Scopes,
}

impl Native {
    /// Builds the pipeline, checking the settings.
    pub(crate) fn from_config(config: &NativeConfig) -> Result<Native, String> {
        let timeout = match &config.timeout {
            Some(TimeoutConfig { ms: 0 }) => return Err("timeout: ms must be at least 1".into()),
            Some(t) => Some(Duration::from_millis(t.ms)),
            None => None,
        };
        Ok(Native {
            cors: config.cors.as_ref().map(Cors::new).transpose()?,
            compress: config.compress.as_ref().map(Compress::new).transpose()?,
            security: config
                .security_headers
                .as_ref()
                .map(SecurityHeaders::new)
                .transpose()?,
            request_id: config.request_id.as_ref().map(RequestId::new).transpose()?,
            rate_limit: config.rate_limit.as_ref().map(RateLimit::new).transpose()?,
            global: config
                .global_headers
                .as_ref()
                .map(GlobalHeaders::new)
                .transpose()?,
            timeout,
            logger: config.logger.as_ref().map(Logger::new).transpose()?,
            scopes: Scopes::new(&config.scopes)?,
        })
    }

    /// Whether `cors()`, where it applies, lets this WebSocket handshake's
    /// `Origin` open a socket (cross-site WebSocket hijacking is refused
    /// before JavaScript runs).
    pub(crate) fn allows_socket(&self, exchange: &Exchange, parts: &Parts) -> bool {
        match (&self.cors, on(exchange.active, scope::CORS)) {
            (Some(cors), true) => cors.allows_socket_from(parts.headers.get(http::header::ORIGIN)),
            _ => true,
        }
    }

    /// The time a TypeScript handler has to answer, when `timeout()` is on.
    pub(crate) fn handler_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Runs before routing: may answer at once (a CORS preflight, a rate
    /// limit) or change the request (add a request id, global headers).
    pub(crate) fn on_request(
        &self,
        parts: &mut Parts,
        remote: SocketAddr,
    ) -> (Option<Response<Body>>, Exchange) {
        let active = self.scopes.active(parts.uri.path());
        let mut exchange = Exchange {
            head: parts.method == Method::HEAD,
            active,
            ..Exchange::default()
        };
        if let (Some(_), true) = (&self.logger, on(active, scope::LOGGER)) {
            exchange.log = Some(Logger::start(&parts.method, &parts.uri));
        }
        if let (Some(ids), true) = (&self.request_id, on(active, scope::REQUEST_ID)) {
            exchange.request_id = Some(ids.assign(&mut parts.headers));
        }
        if let (Some(global), true) = (&self.global, on(active, scope::GLOBAL)) {
            exchange.excluded = global.excludes(parts.uri.path());
            global.on_request(&mut parts.headers);
        }
        if let (Some(compress), true) = (&self.compress, on(active, scope::COMPRESS)) {
            exchange.encoding = compress.negotiate(&parts.headers);
        }
        if let (Some(cors), true) = (&self.cors, on(active, scope::CORS)) {
            exchange.origin = parts.headers.get(http::header::ORIGIN).cloned();
            // A preflight is answered before the rate limit: it is as cheap
            // as a 429 and a browser sends one per real request it limits.
            if let Some(preflight) = cors.preflight(parts) {
                return (Some(preflight), exchange);
            }
        }
        if let (Some(limit), true) = (&self.rate_limit, on(active, scope::RATE_LIMIT)) {
            if let Some(refused) = limit.check(remote.ip()) {
                return (Some(refused), exchange);
            }
        }
        (None, exchange)
    }

    /// Writes out the access log's buffered lines (`Server::close`).
    pub(crate) fn flush_log(&self) {
        if let Some(logger) = &self.logger {
            logger.flush();
        }
    }

    /// Runs on every response, whoever made it. Header steps only add what
    /// is absent, so a handler's own choice always wins; compression runs
    /// last, on the final headers.
    pub(crate) fn on_response(
        &self,
        exchange: &Exchange,
        mut response: Response<Body>,
    ) -> Response<Body> {
        let headers = response.headers_mut();
        let active = exchange.active;
        if let (Some(global), false, true) =
            (&self.global, exchange.excluded, on(active, scope::GLOBAL))
        {
            global.on_response(headers);
        }
        if let (Some(security), true) = (&self.security, on(active, scope::SECURITY)) {
            security.on_response(headers);
        }
        if let (Some(cors), true) = (&self.cors, on(active, scope::CORS)) {
            cors.on_response(exchange.origin.as_ref(), headers);
        }
        if let (Some(ids), Some(id)) = (&self.request_id, &exchange.request_id) {
            set_absent(headers, ids.header(), id);
        }
        let response = match &self.compress {
            Some(compress) if on(active, scope::COMPRESS) => {
                compress.on_response(exchange.encoding, exchange.head, response)
            }
            _ => response,
        };
        if let (Some(logger), Some(started)) = (&self.logger, &exchange.log) {
            let bytes = if exchange.head {
                Some(0)
            } else {
                http_body::Body::size_hint(response.body()).exact()
            };
            logger.line(
                started,
                response.status(),
                bytes,
                exchange.request_id.as_ref(),
            );
        }
        response
    }
}

/// Whether the middleware of `bit` applies (see `scope`).
fn on(active: u8, bit: u8) -> bool {
    active & bit != 0
}

/// Sets `name` unless the response (or request) already has it.
fn set_absent(headers: &mut HeaderMap, name: &HeaderName, value: &HeaderValue) {
    if !headers.contains_key(name) {
        headers.insert(name.clone(), value.clone());
    }
}

/// Adds `token` to `Vary` unless it is already listed (or `Vary: *`).
fn add_vary(headers: &mut HeaderMap, token: &'static str) {
    let listed = headers.get_all(VARY).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.eq_ignore_ascii_case(token))
        })
    });
    if !listed {
        headers.append(VARY, HeaderValue::from_static(token));
    }
}

/// Parses a configured header name, naming the middleware in the error.
fn header_name(owner: &str, name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{owner}: bad header name {name:?}"))
}

/// Parses a configured header value, naming the middleware in the error.
fn header_value(owner: &str, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|_| format!("{owner}: bad header value {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_is_added_once() {
        let mut headers = HeaderMap::new();
        add_vary(&mut headers, "Origin");
        add_vary(&mut headers, "Origin");
        headers.append(VARY, HeaderValue::from_static("accept-encoding, cookie"));
        add_vary(&mut headers, "Accept-Encoding");
        let all: Vec<_> = headers.get_all(VARY).iter().collect();
        assert_eq!(all, ["Origin", "accept-encoding, cookie"]);
    }

    #[test]
    fn unknown_keys_and_zero_timeout_are_refused() {
        assert!(serde_json::from_str::<NativeConfig>(r#"{"corz":{}}"#).is_err());
        let config: NativeConfig = serde_json::from_str(r#"{"timeout":{"ms":0}}"#).unwrap();
        assert!(Native::from_config(&config).is_err());
        let config: NativeConfig = serde_json::from_str(r#"{"timeout":{"ms":250}}"#).unwrap();
        let native = Native::from_config(&config).unwrap();
        assert_eq!(native.handler_timeout(), Some(Duration::from_millis(250)));
    }
}
