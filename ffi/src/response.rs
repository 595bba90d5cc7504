//! Turns committed response records and Rust-made answers into hyper
//! responses.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};

use crate::layout::res;

use crate::body::full;
pub(crate) use crate::body::Body;

fn word(buf: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([buf[i * 4], buf[i * 4 + 1], buf[i * 4 + 2], buf[i * 4 + 3]])
}

/// Builds the response TypeScript wrote into a slot's response record,
/// copying what it needs out of the arena (the slot is reused right after).
/// `outside` is a body handed over with `ferry_set_body`. Headers in
/// `CONNECTION_HEADERS` are dropped. `None` for a malformed record, which includes any
/// header line hyper would not accept (a name that is not a token, a value
/// with a control character, a line without a colon): TypeScript checks
/// every header before writing it (`Reply.sealed`), so such a line means a
/// Ferry bug, and answering 500 is safer than sending the rest of the
/// headers without it.
pub(crate) fn from_record(record: &[u8], outside: Option<Vec<u8>>) -> Option<Response<Body>> {
    build(record, outside, full)
}

/// Marks a response whose body JavaScript is still writing (a stream), so
/// `compress()` flushes after every chunk instead of holding bytes back.
#[derive(Clone, Copy)]
pub(crate) struct LiveStream;

/// The head of a streamed answer: like `from_record`, with the record's
/// body (inline or outside) as the first chunk of the body `stream` makes.
pub(crate) fn head_from_record(
    record: &[u8],
    outside: Option<Vec<u8>>,
    stream: impl FnOnce(Bytes) -> Body,
) -> Option<Response<Body>> {
    let mut response = build(record, outside, stream)?;
    response.extensions_mut().insert(LiveStream);
    Some(response)
}

fn build(
    record: &[u8],
    outside: Option<Vec<u8>>,
    make_body: impl FnOnce(Bytes) -> Body,
) -> Option<Response<Body>> {
    if record.len() < res::HEADER_BYTES {
        return None;
    }
    let status = word(record, res::STATUS);
    let head_len = word(record, res::HEADERS_LEN) as usize;
    let body_len = word(record, res::BODY_LEN) as usize;
    let flags = word(record, res::FLAGS);
    let start = res::HEADER_BYTES;
    let head_outside = flags & res::FLAG_HEAD_OUTSIDE != 0;
    let body_outside = head_outside || flags & res::FLAG_BODY_OUTSIDE != 0;
    // Outside bytes are `head ++ body` when the head is outside too.
    let outside = if body_outside {
        Some(Bytes::from(outside?))
    } else {
        None
    };
    let (head, body): (&[u8], Bytes) = match &outside {
        Some(bytes) if head_outside => {
            if head_len + body_len != bytes.len() {
                return None;
            }
            (&bytes[..head_len], bytes.slice(head_len..))
        }
        Some(bytes) => {
            if start + head_len > record.len() || body_len != bytes.len() {
                return None;
            }
            (&record[start..start + head_len], bytes.clone())
        }
        None => {
            if start + head_len + body_len > record.len() {
                return None;
            }
            let body_at = start + head_len;
            (
                &record[start..body_at],
                Bytes::copy_from_slice(&record[body_at..body_at + body_len]),
            )
        }
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())?;
    let mut response = Response::new(make_body(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for line in head.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let colon = line.iter().position(|b| *b == b':');
        let parsed = colon.map(|at| {
            (
                HeaderName::from_bytes(&line[..at]),
                header_value(&line[at + 1..]),
            )
        });
        match parsed {
            Some((Ok(name), Ok(value))) => {
                // Hop-by-hop headers belong to hyper's connection handling.
                if !is_connection_header(&name) {
                    headers.append(name, value);
                }
            }
            _ => {
                let name = &line[..colon.unwrap_or(line.len())];
                eprintln!(
                    "ferry: refused a response record with an invalid header {:?}",
                    String::from_utf8_lossy(name)
                );
                return None;
            }
        }
    }
    Some(response)
}

/// The content types TypeScript writes on most answers (`lib/_media.ts`).
const COMMON_VALUES: [&str; 4] = [
    "text/plain; charset=utf-8",
    "application/json",
    "text/html; charset=utf-8",
    "application/octet-stream",
];

/// A header value from the record: the common content types as static
/// values (no copy, no allocation), anything else checked and copied.
fn header_value(bytes: &[u8]) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    match COMMON_VALUES.iter().find(|v| v.as_bytes() == bytes) {
        Some(common) => Ok(HeaderValue::from_static(common)),
        None => HeaderValue::from_bytes(bytes),
    }
}

/// The answer for a record TypeScript wrote wrongly (a Ferry bug).
pub(crate) fn malformed() -> Response<Body> {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "malformed response record",
    )
}

/// Response headers a handler may not set, on every path (records, const
/// routes): hyper frames each answer itself (`content-length` from the body,
/// `transfer-encoding`, keep-alive), so a handler's value could only
/// contradict it and desync the connection, or, for the hop-by-hop ones
/// (RFC 9110 §7.6.1), speak for a connection the handler does not own.
pub(crate) const CONNECTION_HEADERS: [&str; 8] = [
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a handler's response header is dropped: see `CONNECTION_HEADERS`.
/// `HeaderName`s are lower case, so one comparison each.
pub(crate) fn is_connection_header(name: &HeaderName) -> bool {
    CONNECTION_HEADERS.contains(&name.as_str())
}

/// The RFC 9457 problem body of `status` with `detail`: keys in RFC 9457
/// order, as TypeScript writes them.
pub(crate) fn problem_body(status: StatusCode, detail: &str) -> String {
    let title = status.canonical_reason().unwrap_or("Error");
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"type":"about:blank","title":{},"status":{},"detail":{}}}"#,
        quote(title),
        status.as_u16(),
        quote(detail)
    )
}

/// An RFC 9457 problem response made in Rust.
pub(crate) fn problem(status: StatusCode, detail: &str) -> Response<Body> {
    let body = problem_body(status, detail);
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// 503 with `Retry-After`, for a full arena or a closing server.
pub(crate) fn unavailable(detail: &str) -> Response<Body> {
    let mut response = problem(StatusCode::SERVICE_UNAVAILABLE, detail);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// 503 with `Retry-After` and `Connection: close`, for a request the server
/// is shutting down under (HTTP/2 drops the header; its GOAWAY says it).
pub(crate) fn shutting_down(detail: &str) -> Response<Body> {
    let mut response = unavailable(detail);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A problem+json answer to a request whose body was not read to its end
/// (too large, too slow, broken): the connection closes after it, and says
/// so, so that a client does not send its next request on it.
pub(crate) fn body_refused(status: StatusCode, detail: &str) -> Response<Body> {
    let mut response = problem(status, detail);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: u32, head: &[u8], body: &[u8]) -> Vec<u8> {
        let mut rec = vec![0u8; 256];
        for (i, v) in [status, head.len() as u32, body.len() as u32, 0]
            .iter()
            .enumerate()
        {
            rec[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        rec[16..16 + head.len()].copy_from_slice(head);
        rec[16 + head.len()..16 + head.len() + body.len()].copy_from_slice(body);
        rec
    }

    #[test]
    fn record_becomes_response() {
        let rec = record(201, b"content-type:text/plain\nx-a:1\n", b"hi");
        let res = from_record(&rec, None).unwrap();
        assert_eq!(res.status(), 201);
        assert_eq!(res.headers()["x-a"], "1");
        assert_eq!(res.headers()["content-type"], "text/plain");
    }

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let rec = record(200, b"connection:close\nx-ok:1\n", b"");
        let res = from_record(&rec, None).unwrap();
        assert!(res.headers().get("connection").is_none());
        assert_eq!(res.headers()["x-ok"], "1");
    }

    /// Defence in depth behind `Reply.sealed`: a header line hyper would not
    /// accept refuses the whole record (the caller answers 500), so it is
    /// neither sent nor quietly dropped from an otherwise sent response.
    #[test]
    fn invalid_header_refuses_the_record() {
        let refused: [&[u8]; 12] = [
            b"x-bad:a\rb\n",
            b"x-bad:a\0b\n",
            b"x-bad:a\x01b\n",
            b"x-bad:a\x1fb\n",
            b"x-bad:a\x7fb\n",
            b"x bad:1\n",
            b":1\n",
            b"x-\xc4\x80:1\n",
            b"no colon here\n",
            b"x-ok:1\nx-bad:\r\n",
            b"x-ok:1\nset-cookie:a\x0bb\n",
            b"content-type:text/plain\x00set-cookie: evil=1\n",
        ];
        for head in refused {
            let rec = record(200, head, b"x");
            assert!(
                from_record(&rec, None).is_none(),
                "{:?} was accepted",
                String::from_utf8_lossy(head)
            );
        }
        // What hyper accepts goes through unchanged: tab, obs-text (Latin-1).
        let rec = record(200, b"x-tab:a\tb\nx-latin1:caf\xe9\n", b"");
        let res = from_record(&rec, None).unwrap();
        assert_eq!(res.headers()["x-tab"].as_bytes(), b"a\tb");
        assert_eq!(res.headers()["x-latin1"].as_bytes(), b"caf\xe9");
    }

    #[test]
    fn connection_headers_are_the_framing_and_hop_by_hop_ones() {
        let table = [
            ("content-length", true),
            ("Content-Length", true),
            ("transfer-encoding", true),
            ("connection", true),
            ("keep-alive", true),
            ("proxy-connection", true),
            ("upgrade", true),
            ("te", true),
            ("trailer", true),
            ("content-type", false),
            ("content-encoding", false),
            ("x-content-length", false),
            ("set-cookie", false),
            ("trailers", false),
        ];
        for (name, dropped) in table {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(is_connection_header(&name), dropped, "{name}");
        }
    }

    #[test]
    fn malformed_record_is_refused() {
        let rec = record(200, b"", b"");
        let mut bad = rec.clone();
        bad[4..8].copy_from_slice(&10_000u32.to_le_bytes());
        assert!(from_record(&bad, None).is_none());
        assert!(from_record(&record(42, b"", b""), None).is_none());
    }
}
