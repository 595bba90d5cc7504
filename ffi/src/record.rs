//! Writes a request into its slot as a record TypeScript decodes lazily.

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::layout::{method_code, req, METHOD_OTHER};
use crate::slots::Slots;

/// The parts of a routed request that cross to TypeScript.
pub(crate) struct RequestParts<'a> {
    pub(crate) route: u32,
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) params: &'a [String],
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Bytes,
    /// Remote address as `ip:port`, formatted once per connection.
    pub(crate) remote: &'a str,
    pub(crate) http2: bool,
}

fn put_u32(buf: &mut [u8], word: usize, value: u32) {
    buf[word * 4..word * 4 + 4].copy_from_slice(&value.to_le_bytes());
}

/// Copies packed blocks into `out`, advancing `at`.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// Exact size of each block: method, params, headers.
fn sizes(parts: &RequestParts<'_>, code: u32) -> (usize, usize, usize) {
    let method = if code == METHOD_OTHER {
        parts.method.as_str().len()
    } else {
        0
    };
    let params = parts.params.iter().map(|v| 4 + v.len()).sum();
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 2)
        .sum();
    (method, params, headers)
}

fn pack(parts: &RequestParts<'_>, code: u32, w: &mut Writer<'_>) {
    if code == METHOD_OTHER {
        w.put(parts.method.as_str().as_bytes());
    }
    w.put(parts.path.as_bytes());
    w.put(parts.query.as_bytes());
    for value in parts.params {
        w.put(&(value.len() as u32).to_le_bytes());
        w.put(value.as_bytes());
    }
    for (name, value) in parts.headers {
        w.put(name.as_str().as_bytes());
        w.put(b":");
        w.put(value.as_bytes());
        w.put(b"\n");
    }
    w.put(parts.remote.as_bytes());
    w.put(parts.body);
}

/// Writes `parts` into slot `id`: straight into the arena when it fits,
/// otherwise into the slot's overflow buffer with `FLAG_OVERFLOW` set.
pub(crate) fn write_request(slots: &Slots, id: u32, parts: &RequestParts<'_>) {
    let code = method_code(parts.method);
    let (method_len, params_len, headers_len) = sizes(parts, code);
    let total = method_len
        + parts.path.len()
        + parts.query.len()
        + params_len
        + headers_len
        + parts.remote.len()
        + parts.body.len();
    let cell = slots.cell(id);
    // SAFETY: the producer owns slot `id` until it is published.
    let record = unsafe { slots.req_mut(id) };
    let mut flags = if parts.http2 { req::FLAG_HTTP2 } else { 0 };
    if req::HEADER_BYTES + total <= record.len() {
        let mut w = Writer {
            out: &mut record[req::HEADER_BYTES..],
            at: 0,
        };
        pack(parts, code, &mut w);
    } else {
        flags |= req::FLAG_OVERFLOW;
        let mut bytes = vec![0u8; total];
        pack(
            parts,
            code,
            &mut Writer {
                out: &mut bytes,
                at: 0,
            },
        );
        cell.set_overflow(bytes);
    }
    put_u32(record, req::ROUTE, parts.route);
    put_u32(record, req::METHOD, code);
    put_u32(record, req::FLAGS, flags);
    put_u32(record, req::TOTAL, total as u32);
    put_u32(record, req::METHOD_LEN, method_len as u32);
    put_u32(record, req::PATH_LEN, parts.path.len() as u32);
    put_u32(record, req::QUERY_LEN, parts.query.len() as u32);
    put_u32(record, req::PARAMS_LEN, params_len as u32);
    put_u32(record, req::HEADERS_LEN, headers_len as u32);
    put_u32(record, req::REMOTE_LEN, parts.remote.len() as u32);
    put_u32(record, req::BODY_LEN, parts.body.len() as u32);
    let generation = cell.generation.load(std::sync::atomic::Ordering::Acquire);
    put_u32(record, req::GENERATION, generation);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(buf: &[u8], i: usize) -> u32 {
        u32::from_le_bytes(buf[i * 4..i * 4 + 4].try_into().unwrap())
    }

    fn parts<'a>(
        headers: &'a HeaderMap,
        body: &'a Bytes,
        params: &'a [String],
    ) -> RequestParts<'a> {
        RequestParts {
            route: 9,
            method: &Method::POST,
            path: "/users/42",
            query: "q=1",
            params,
            headers,
            body,
            remote: "127.0.0.1:5000",
            http2: false,
        }
    }

    #[test]
    fn small_request_is_written_inline() {
        let slots = Slots::new(2, 512, 64);
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "b".parse().unwrap());
        let body = Bytes::from_static(b"hello");
        let params = ["42".to_string()];
        write_request(&slots, 1, &parts(&headers, &body, &params));
        // SAFETY: test owns the slot.
        let rec = unsafe { slots.req_mut(1) };
        assert_eq!(word(rec, req::ROUTE), 9);
        assert_eq!(word(rec, req::METHOD), 2);
        assert_eq!(word(rec, req::FLAGS), 0);
        let total = word(rec, req::TOTAL) as usize;
        let data = &rec[req::HEADER_BYTES..req::HEADER_BYTES + total];
        let expected = b"/users/42q=1\x02\0\0\x0042x-a:b\n127.0.0.1:5000hello";
        assert_eq!(data, expected);
    }

    #[test]
    fn large_request_overflows() {
        let slots = Slots::new(1, 128, 64);
        let headers = HeaderMap::new();
        let body = Bytes::from(vec![7u8; 1000]);
        write_request(&slots, 0, &parts(&headers, &body, &[]));
        // SAFETY: test owns the slot.
        let rec = unsafe { slots.req_mut(0) };
        assert_eq!(word(rec, req::FLAGS), req::FLAG_OVERFLOW);
        let stored = slots.cell(0).overflow_req.lock().take().unwrap();
        assert_eq!(stored.len(), word(rec, req::TOTAL) as usize);
        assert!(stored.ends_with(&[7u8; 1000]));
    }
}
