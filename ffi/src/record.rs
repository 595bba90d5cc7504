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

/// Copies packed blocks to `out`, advancing `at`, never past `len`. It
/// writes through a raw pointer: the arena is memory JavaScript reads, so
/// no `&mut [u8]` is made over it.
struct Writer {
    out: *mut u8,
    len: usize,
    at: usize,
}

impl Writer {
    /// A writer over `bytes` (an owned buffer, for overflowed records).
    fn over(bytes: &mut [u8]) -> Writer {
        Writer {
            out: bytes.as_mut_ptr(),
            len: bytes.len(),
            at: 0,
        }
    }

    fn put(&mut self, bytes: &[u8]) {
        assert!(self.at + bytes.len() <= self.len, "record overrun");
        // SAFETY: `out` is valid for `len` writable bytes (a slot's request
        // record owned by the producing task, or an owned buffer), the
        // range was checked just above, and `bytes` is Rust memory that
        // cannot overlap the arena.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.out.add(self.at), bytes.len())
        };
        self.at += bytes.len();
    }

    /// Writes `value` as the little-endian word `word` of the record.
    fn word(&mut self, word: usize, value: u32) {
        let at = self.at;
        self.at = word * 4;
        self.put(&value.to_le_bytes());
        self.at = at;
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

fn pack(parts: &RequestParts<'_>, code: u32, w: &mut Writer) {
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
    // The producing task owns slot `id` until it publishes it: JavaScript
    // has no id for it yet, and Rust writes it nowhere else.
    let mut record = Writer {
        out: slots.req_ptr(id),
        len: slots.req_bytes,
        at: 0,
    };
    let mut flags = if parts.http2 { req::FLAG_HTTP2 } else { 0 };
    if req::HEADER_BYTES + total <= slots.req_bytes {
        record.at = req::HEADER_BYTES;
        pack(parts, code, &mut record);
    } else {
        flags |= req::FLAG_OVERFLOW;
        let mut bytes = vec![0u8; total];
        pack(parts, code, &mut Writer::over(&mut bytes));
        cell.set_overflow(bytes);
    }
    record.word(req::ROUTE, parts.route);
    record.word(req::METHOD, code);
    record.word(req::FLAGS, flags);
    record.word(req::TOTAL, total as u32);
    record.word(req::METHOD_LEN, method_len as u32);
    record.word(req::PATH_LEN, parts.path.len() as u32);
    record.word(req::QUERY_LEN, parts.query.len() as u32);
    record.word(req::PARAMS_LEN, params_len as u32);
    record.word(req::HEADERS_LEN, headers_len as u32);
    record.word(req::REMOTE_LEN, parts.remote.len() as u32);
    record.word(req::BODY_LEN, parts.body.len() as u32);
    let generation = cell.generation.load(std::sync::atomic::Ordering::Acquire);
    record.word(req::GENERATION, generation);
}

/// Marks slot `id`'s request record as having a streamed body
/// (`req::FLAG_BODY_STREAM`); the producer still owns the slot.
pub(crate) fn mark_body_stream(slots: &Slots, id: u32) {
    let at = req::FLAGS * 4;
    let mut record = Writer {
        out: slots.req_ptr(id),
        len: slots.req_bytes,
        at: 0,
    };
    // SAFETY: the producing task owns the slot until it publishes it, and
    // the flags word lies inside the record.
    let flags = unsafe { std::ptr::read_unaligned(record.out.add(at).cast::<[u8; 4]>()) };
    record.word(
        req::FLAGS,
        u32::from_le_bytes(flags) | req::FLAG_BODY_STREAM,
    );
}

/// A copy of slot `id`'s request record (tests).
#[cfg(test)]
pub(crate) fn record_copy(slots: &Slots, id: u32) -> Vec<u8> {
    // SAFETY: tests own every slot; `req_ptr` is valid for `req_bytes`.
    unsafe { std::slice::from_raw_parts(slots.req_ptr(id), slots.req_bytes) }.to_vec()
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
        let rec = &record_copy(&slots, 1);
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
        let rec = &record_copy(&slots, 0);
        assert_eq!(word(rec, req::FLAGS), req::FLAG_OVERFLOW);
        let stored = slots.cell(0).overflow_req.lock().take().unwrap();
        assert_eq!(stored.len(), word(rec, req::TOTAL) as usize);
        assert!(stored.ends_with(&[7u8; 1000]));
    }
}
