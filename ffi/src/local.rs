//! In-process answers for `app.fetch`: the same native middleware and
//! static mounts a server runs, applied to a request that came from no
//! socket. `app.fetch` is not the hot path (tests, `Deno.serve`), so data
//! travels as JSON with a byte body; the network path never comes here.
//!
//! A request takes one or two steps, each leaving an *output* that
//! JavaScript copies out with `take`:
//!
//! 1. `request`: `on_request` (request id, global request headers, CORS
//!    preflight) and static files. The output is either a whole answer,
//!    or `route` with the request headers as the middleware left them;
//!    then the `Exchange` waits under the ticket.
//! 2. `response`: TypeScript answered; `on_response` adds its headers.
//!
//! What a socket gives and a `Request` lacks is left out: the rate limit
//! (keyed by the peer's address), the handler timeout, and compression
//! (the body stays in JavaScript, see `docs/composition.md`); the access
//! log is for the network too.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::body::{self, Body};
use crate::config::ServerConfig;
use crate::native::{Exchange, Native};
use crate::statics::Statics;

/// A request as `app.fetch` got it (its body stays in JavaScript).
#[derive(Deserialize)]
struct LocalRequest {
    method: String,
    /// Path and query.
    target: String,
    headers: Vec<(String, String)>,
}

/// Status and headers of an answer made by TypeScript.
#[derive(Deserialize)]
struct LocalResponse {
    status: u16,
    headers: Vec<(String, String)>,
}

/// The JSON line that starts every output; a body follows it after "\n".
#[derive(Serialize)]
struct Head {
    /// `"answer"` (status, headers and a body follow) or `"route"`
    /// (TypeScript answers; `headers` are the request's).
    kind: &'static str,
    status: u16,
    headers: Vec<(String, String)>,
}

/// The native part of one app, for `app.fetch`.
pub(crate) struct Local {
    native: Native,
    statics: Statics,
    /// Drives static file reads; `block_on` runs on the caller's thread
    /// (Deno's blocking pool: the FFI call is nonblocking).
    runtime: tokio::runtime::Runtime,
    next: AtomicU32,
    waiting: Mutex<HashMap<u32, Exchange>>,
    outputs: Mutex<HashMap<u32, Vec<u8>>>,
}

impl Local {
    /// Builds the native middleware and static mounts of `config`, without
    /// the rate limit, timeout, compression and logger (see the module doc).
    pub(crate) fn new(json: &[u8]) -> Result<Local, String> {
        let mut config = ServerConfig::parse(json)?;
        config.native.rate_limit = None;
        config.native.timeout = None;
        config.native.compress = None;
        config.native.logger = None;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime for app.fetch: {e}"))?;
        Ok(Local {
            native: Native::from_config(&config.native)?,
            statics: Statics::from_config(&config.statics)?,
            runtime,
            next: AtomicU32::new(0),
            waiting: Mutex::new(HashMap::new()),
            outputs: Mutex::new(HashMap::new()),
        })
    }

    /// Step 1; returns the ticket its output (and exchange) are kept under.
    pub(crate) fn request(&self, json: &[u8]) -> Result<u32, String> {
        let input: LocalRequest =
            serde_json::from_slice(json).map_err(|e| format!("bad local request: {e}"))?;
        let mut builder = Request::builder()
            .method(input.method.as_str())
            .uri(input.target.as_str());
        for (name, value) in &input.headers {
            builder = builder.header(header_name(name)?, header_value(value)?);
        }
        let (mut parts, ()) = builder
            .body(())
            .map_err(|e| format!("bad local request: {e}"))?
            .into_parts();
        let remote = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let (early, exchange) = self.native.on_request(&mut parts, remote);
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        let answer = match early {
            Some(answer) => Some(answer),
            None if self.statics.covers(parts.uri.path()) => {
                self.runtime.block_on(self.statics.serve(&parts))
            }
            None => None,
        };
        let output = match answer {
            Some(answer) => {
                let answer = self.native.on_response(&exchange, answer);
                self.runtime.block_on(encode(answer))?
            }
            None => {
                self.waiting.lock().insert(ticket, exchange);
                head_only("route", 0, &parts.headers)
            }
        };
        self.outputs.lock().insert(ticket, output);
        Ok(ticket)
    }

    /// Step 2: applies `on_response` to TypeScript's answer.
    pub(crate) fn response(&self, ticket: u32, json: &[u8]) -> Result<u32, String> {
        let input: LocalResponse =
            serde_json::from_slice(json).map_err(|e| format!("bad local response: {e}"))?;
        let exchange = self
            .waiting
            .lock()
            .remove(&ticket)
            .ok_or("no request waits under that ticket")?;
        let mut response = Response::new(body::empty());
        *response.status_mut() =
            StatusCode::from_u16(input.status).map_err(|e| format!("bad status: {e}"))?;
        for (name, value) in &input.headers {
            response
                .headers_mut()
                .append(header_name(name)?, header_value(value)?);
        }
        let response = self.native.on_response(&exchange, response);
        let output = head_only("answer", response.status().as_u16(), response.headers());
        self.outputs.lock().insert(ticket, output);
        Ok(ticket)
    }

    /// Copies the output of `ticket` into `buf` and forgets it; when `buf`
    /// is too small, keeps it and returns the length needed.
    pub(crate) fn take(&self, ticket: u32, buf: &mut [u8]) -> Option<usize> {
        let mut outputs = self.outputs.lock();
        let output = outputs.get(&ticket)?;
        if output.len() > buf.len() {
            return Some(output.len());
        }
        let n = output.len();
        buf[..n].copy_from_slice(output);
        outputs.remove(&ticket);
        Some(n)
    }

    /// Forgets a request JavaScript gave up on (its handler failed).
    pub(crate) fn forget(&self, ticket: u32) {
        self.waiting.lock().remove(&ticket);
        self.outputs.lock().remove(&ticket);
    }
}

fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("bad header name {name:?}"))
}

/// Header values reach JavaScript as Latin-1 strings (one char per byte).
fn header_value(value: &str) -> Result<HeaderValue, String> {
    let bytes: Option<Vec<u8>> = value.chars().map(|c| u8::try_from(c).ok()).collect();
    bytes
        .and_then(|b| HeaderValue::from_bytes(&b).ok())
        .ok_or_else(|| format!("bad header value {value:?}"))
}

fn latin1(value: &HeaderValue) -> String {
    value.as_bytes().iter().map(|&b| char::from(b)).collect()
}

fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), latin1(value)))
        .collect()
}

fn head_only(kind: &'static str, status: u16, headers: &HeaderMap) -> Vec<u8> {
    let head = Head {
        kind,
        status,
        headers: pairs(headers),
    };
    let mut out = serde_json::to_vec(&head).unwrap_or_default();
    out.push(b'\n');
    out
}

async fn encode(response: Response<Body>) -> Result<Vec<u8>, String> {
    let (parts, body) = response.into_parts();
    let body: Bytes = body
        .collect()
        .await
        .map_err(|e| format!("cannot read the answer: {e}"))?
        .to_bytes();
    let mut out = head_only("answer", parts.status.as_u16(), &parts.headers);
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(local: &Local, ticket: u32) -> String {
        let mut buf = vec![0; 4096];
        let n = local.take(ticket, &mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn preflight_is_answered_and_routes_get_headers() {
        let config = br#"{"native":{"cors":{"origin":["https://a.example"],"methods":["GET"],
            "allowHeaders":[],"exposeHeaders":[],"credentials":false,"maxAge":null},
            "requestId":{"header":"x-request-id","trustIncoming":true}}}"#;
        let local = Local::new(config).unwrap();
        let preflight = br#"{"method":"OPTIONS","target":"/x","headers":[
            ["origin","https://a.example"],["access-control-request-method","GET"]]}"#;
        let t = local.request(preflight).unwrap();
        let out = output(&local, t);
        assert!(out.starts_with(r#"{"kind":"answer","status":204"#), "{out}");
        assert!(out.contains("access-control-allow-origin"), "{out}");
        let get = br#"{"method":"GET","target":"/x?y=1","headers":[["x-request-id","abc"]]}"#;
        let t = local.request(get).unwrap();
        assert!(output(&local, t).contains(r#"["x-request-id","abc"]"#));
        let t = local
            .response(
                t,
                br#"{"status":200,"headers":[["content-type","text/plain"]]}"#,
            )
            .unwrap();
        let out = output(&local, t);
        assert!(out.contains(r#"["x-request-id","abc"]"#), "{out}");
        assert!(local
            .response(t, br#"{"status":200,"headers":[]}"#)
            .is_err());
    }

    #[test]
    fn take_keeps_an_output_too_big_for_the_buffer() {
        let local = Local::new(b"{}").unwrap();
        let t = local
            .request(br#"{"method":"GET","target":"/","headers":[]}"#)
            .unwrap();
        let mut small = [0u8; 4];
        let need = local.take(t, &mut small).unwrap();
        assert!(need > 4);
        let mut big = vec![0; need];
        assert_eq!(local.take(t, &mut big), Some(need));
        assert_eq!(local.take(t, &mut big), None);
    }
}
