//! The opening handshake (RFC 6455 §4.2): which requests to a WebSocket
//! route may upgrade, what the others are answered, and the accept key.

use base64::Engine as _;
use http::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use http::request::Parts;
use http::{Response, StatusCode, Version};
use sha1::{Digest, Sha1};

use crate::response::{problem, Body};

/// RFC 6455 §1.3: appended to the client's key before hashing.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// What a request to a WebSocket route is.
pub(crate) enum Handshake {
    /// A valid upgrade request: the `Sec-WebSocket-Accept` value to answer
    /// (`None` over HTTP/2, where the answer is a plain 200).
    Upgrade(Option<HeaderValue>),
    /// Not (or not a valid) upgrade request: Rust answers it alone.
    Refused(Response<Body>),
}

/// Checks a request to a WebSocket route. A plain HTTP request is answered
/// 426 with `Upgrade: websocket`; an unsupported version 426 with the
/// version Ferry speaks (§4.4); a missing or malformed key 400.
/// `extended_connect`: the request was an HTTP/2 extended CONNECT (see
/// [`is_extended_connect`]; it is routed as a `GET`).
pub(crate) fn check(parts: &Parts, extended_connect: bool) -> Handshake {
    let headers = &parts.headers;
    if extended_connect {
        // RFC 8441 §5: no key, no Upgrade/Connection; the version still applies.
        return match headers
            .get(SEC_WEBSOCKET_VERSION)
            .map(HeaderValue::as_bytes)
        {
            Some(b"13") => Handshake::Upgrade(None),
            _ => Handshake::Refused(wrong_version()),
        };
    }
    let upgrade = has_token(headers.get_all(UPGRADE), "websocket");
    let connection = has_token(headers.get_all(CONNECTION), "upgrade");
    if parts.version != Version::HTTP_11 || !upgrade || !connection {
        let detail = if parts.version == Version::HTTP_2 {
            "this path speaks WebSocket: send an extended CONNECT with :protocol websocket"
        } else {
            "this path speaks WebSocket: send an Upgrade: websocket request"
        };
        let mut response = problem(StatusCode::UPGRADE_REQUIRED, detail);
        response
            .headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("upgrade"));
        return Handshake::Refused(response);
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Handshake::Refused(wrong_version());
    }
    let key = headers.get(SEC_WEBSOCKET_KEY).map(HeaderValue::as_bytes);
    let valid = key.is_some_and(|k| {
        base64::engine::general_purpose::STANDARD
            .decode(k)
            .is_ok_and(|raw| raw.len() == 16)
    });
    match key {
        Some(key) if valid => Handshake::Upgrade(Some(accept(key))),
        _ => Handshake::Refused(problem(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Key must be 16 bytes in base64",
        )),
    }
}

/// An HTTP/2 extended CONNECT for a WebSocket (RFC 8441 §4): routed like
/// the `GET` of an HTTP/1.1 handshake.
pub(crate) fn is_extended_connect(parts: &Parts) -> bool {
    parts.version == Version::HTTP_2
        && parts.method == http::Method::CONNECT
        && parts
            .extensions
            .get::<hyper::ext::Protocol>()
            .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
}

/// 426 naming the version Ferry speaks (RFC 6455 §4.4).
fn wrong_version() -> Response<Body> {
    let mut response = problem(
        StatusCode::UPGRADE_REQUIRED,
        "this server speaks WebSocket version 13 (Sec-WebSocket-Version: 13)",
    );
    response
        .headers_mut()
        .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    response
}

/// `Sec-WebSocket-Accept` for a client key: base64(SHA-1(key + GUID)).
pub(crate) fn accept(key: &[u8]) -> HeaderValue {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    let encoded = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    // base64 is always a valid header value.
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether any of the comma-separated values equals `token` (ignoring case).
fn has_token(values: http::header::GetAll<'_, HeaderValue>, token: &str) -> bool {
    values.iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().uri("/ws");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const GOOD: [(&str, &str); 4] = [
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn the_rfc_example_key_gets_the_rfc_accept_value() {
        // RFC 6455 §1.3.
        let value = accept(b"dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(value, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(matches!(check(&parts(&GOOD), false), Handshake::Upgrade(Some(v)) if v == value));
    }

    #[test]
    fn plain_requests_wrong_versions_and_bad_keys_are_refused() {
        let status = |h: &[(&str, &str)]| match check(&parts(h), false) {
            Handshake::Refused(r) => r.status().as_u16(),
            Handshake::Upgrade(_) => 101,
        };
        assert_eq!(status(&[]), 426);
        assert_eq!(status(&GOOD[1..]), 426);
        let mut old = GOOD;
        old[2] = ("sec-websocket-version", "8");
        assert_eq!(status(&old), 426);
        let mut bad = GOOD;
        bad[3] = ("sec-websocket-key", "short");
        assert_eq!(status(&bad), 400);
        assert_eq!(status(&GOOD[..3]), 400);
    }
}
