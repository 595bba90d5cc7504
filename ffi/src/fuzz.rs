//! Property tests for the two records that cross the boundary: every request
//! written with `write_request` decodes back to its parts (inline and
//! overflowed), and no response record, however malformed, makes
//! `from_record` panic.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::layout::{req, res, METHODS, METHOD_OTHER};
use crate::record::{write_request, RequestParts};
use crate::response::from_record;
use crate::slots::Slots;

/// A request as the decoder gives it back.
#[derive(Debug, PartialEq)]
struct Decoded {
    route: u32,
    method: String,
    path: String,
    query: String,
    params: Vec<String>,
    headers: Vec<(String, Vec<u8>)>,
    remote: String,
    body: Vec<u8>,
    http2: bool,
}

fn word(buf: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(buf[i * 4..i * 4 + 4].try_into().unwrap())
}

/// Reads the blocks in word order, as `lib/_source.ts` does.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        out
    }

    fn text(&mut self, n: usize) -> String {
        String::from_utf8(self.take(n).to_vec()).expect("a text block is UTF-8")
    }
}

/// Decodes slot `id` following `layout::req`; `overflow` is the stored
/// overflow buffer when the record did not fit.
fn decode(record: &[u8], overflow: Option<Vec<u8>>) -> Decoded {
    let total = word(record, req::TOTAL) as usize;
    let flags = word(record, req::FLAGS);
    let bytes = if flags & req::FLAG_OVERFLOW != 0 {
        overflow.expect("an overflowed record keeps its bytes in Rust")
    } else {
        assert!(
            overflow.is_none(),
            "an inline record has no overflow buffer"
        );
        record[req::HEADER_BYTES..req::HEADER_BYTES + total].to_vec()
    };
    assert_eq!(bytes.len(), total);
    let lens: Vec<usize> = (req::METHOD_LEN..=req::BODY_LEN)
        .map(|w| word(record, w) as usize)
        .collect();
    assert_eq!(lens.iter().sum::<usize>(), total, "blocks add up to TOTAL");
    let mut r = Reader {
        bytes: &bytes,
        at: 0,
    };
    let code = word(record, req::METHOD);
    let method = if code == METHOD_OTHER {
        r.text(lens[0])
    } else {
        assert_eq!(lens[0], 0, "a known method carries no name");
        METHODS[code as usize].to_string()
    };
    let path = r.text(lens[1]);
    let query = r.text(lens[2]);
    let mut params = Vec::new();
    let mut block = Reader {
        bytes: r.take(lens[3]),
        at: 0,
    };
    while block.at < block.bytes.len() {
        let n = u32::from_le_bytes(block.take(4).try_into().unwrap()) as usize;
        params.push(block.text(n));
    }
    let headers = r
        .take(lens[4])
        .split_inclusive(|b| *b == b'\n')
        .map(|line| {
            assert_eq!(line.last(), Some(&b'\n'), "every header line ends with LF");
            let colon = line.iter().position(|b| *b == b':').expect("name:value");
            let name = String::from_utf8(line[..colon].to_vec()).unwrap();
            (name, line[colon + 1..line.len() - 1].to_vec())
        })
        .collect();
    let remote = r.text(lens[5]);
    let body = r.take(lens[6]).to_vec();
    assert_eq!(r.at, total, "nothing left over");
    Decoded {
        route: word(record, req::ROUTE),
        method,
        path,
        query,
        params,
        headers,
        remote,
        body,
        http2: flags & req::FLAG_HTTP2 != 0,
    }
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        proptest::sample::select(METHODS.to_vec())
            .prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
        "[A-Z][A-Z0-9_!#$%&'*+.^`|~-]{0,15}"
            .prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

/// Header values as hyper accepts them: visible ASCII, space, tab, obs-text.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    vec(prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff], 0..40)
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    vec(("[a-z][a-z0-9-]{0,15}", header_value()), 0..12).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(&value).unwrap(),
            );
        }
        map
    })
}

#[derive(Debug)]
struct Request {
    route: u32,
    method: Method,
    path: String,
    query: String,
    params: Vec<String>,
    headers: HeaderMap,
    body: Vec<u8>,
    remote: String,
    http2: bool,
}

fn request() -> impl Strategy<Value = Request> {
    (
        any::<u32>(),
        method(),
        ("/\\PC{0,40}", "\\PC{0,40}"),
        vec(any::<String>(), 0..5),
        headers(),
        prop_oneof![vec(any::<u8>(), 0..64), vec(any::<u8>(), 0..6000)],
        "[0-9a-f.:\\[\\]]{0,46}",
        any::<bool>(),
    )
        .prop_map(
            |(route, method, (path, query), params, headers, body, remote, http2)| Request {
                route,
                method,
                path,
                query,
                params,
                headers,
                body,
                remote,
                http2,
            },
        )
}

proptest! {
    /// Inline (fits in the slot) and overflowed records both round-trip.
    #[test]
    fn request_record_round_trips(
        rq in request(),
        req_bytes in prop_oneof![Just(128usize), Just(256), Just(1024), Just(4096)],
        id in 0u32..3,
        reuses in 0u32..3,
    ) {
        let slots = Slots::new(3, req_bytes, 256);
        for _ in 0..reuses {
            let taken = slots.acquire().unwrap();
            slots.task_done(taken);
        }
        let body = Bytes::from(rq.body.clone());
        let parts = RequestParts {
            route: rq.route,
            method: &rq.method,
            path: &rq.path,
            query: &rq.query,
            params: &rq.params,
            headers: &rq.headers,
            body: &body,
            valid: b"",
            remote: &rq.remote,
            http2: rq.http2,
        };
        write_request(&slots, id, &parts);
        let record = crate::record::record_copy(&slots, id);
        let overflow = slots.cell(id).overflow_req.lock().take();
        let total = word(&record, req::TOTAL) as usize;
        let overflowed = word(&record, req::FLAGS) & req::FLAG_OVERFLOW != 0;
        prop_assert_eq!(overflowed, req::HEADER_BYTES + total > req_bytes);
        prop_assert_eq!(
            word(&record, req::GENERATION),
            slots.cell(id).generation.load(std::sync::atomic::Ordering::Acquire)
        );
        let expected = Decoded {
            route: rq.route,
            method: rq.method.as_str().to_string(),
            path: rq.path.clone(),
            query: rq.query.clone(),
            params: rq.params.clone(),
            headers: rq
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                .collect(),
            remote: rq.remote.clone(),
            body: rq.body.clone(),
            http2: rq.http2,
        };
        prop_assert_eq!(decode(&record, overflow), expected);
    }

    /// Arbitrary bytes of any slot size (never below the 16-byte header,
    /// as `responseSlotBytes` is at least 256) never make `from_record` panic.
    #[test]
    fn any_response_bytes_never_panic(
        record in vec(any::<u8>(), res::HEADER_BYTES..2048),
        outside in proptest::option::of(vec(any::<u8>(), 0..64)),
    ) {
        if let Some(response) = from_record(&record, outside) {
            let status = response.status().as_u16();
            prop_assert!((100..=999).contains(&status));
        }
    }

    /// Plausible records with lying lengths, stray colons, CR/LF/NUL and
    /// hop-by-hop names: never a panic, and only valid headers survive.
    #[test]
    fn crafted_response_records_never_panic(
        status in prop_oneof![100u32..600, any::<u32>()],
        head in vec(prop_oneof![
            Just(b':'), Just(b'\n'), Just(b'\r'), Just(0u8), Just(b' '), b'a'..=b'z', any::<u8>(),
        ], 0..200),
        hop in proptest::sample::select(vec![
            "", "connection:close\n", "transfer-encoding:chunked\n", "content-length:99\n",
        ]),
        body in vec(any::<u8>(), 0..200),
        head_lie in prop_oneof![Just(0i64), -300i64..300, Just(i64::from(u32::MAX))],
        body_lie in prop_oneof![Just(0i64), -300i64..300, Just(i64::from(u32::MAX))],
        flags in prop_oneof![Just(0u32), Just(res::FLAG_BODY_OUTSIDE), any::<u32>()],
        outside in proptest::option::of(vec(any::<u8>(), 0..64)),
        size in prop_oneof![Just(256usize), 16usize..1024],
    ) {
        let mut head = head;
        head.extend_from_slice(hop.as_bytes());
        let mut record = vec![0u8; size.max(res::HEADER_BYTES)];
        let lie = |n: usize, by: i64| (n as i64 + by).clamp(0, i64::from(u32::MAX)) as u32;
        let words = [status, lie(head.len(), head_lie), lie(body.len(), body_lie), flags];
        for (i, w) in words.iter().enumerate() {
            record[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        let room = record.len() - res::HEADER_BYTES;
        let data: Vec<u8> = head.iter().chain(body.iter()).copied().take(room).collect();
        record[res::HEADER_BYTES..res::HEADER_BYTES + data.len()].copy_from_slice(&data);
        if let Some(response) = from_record(&record, outside) {
            for (name, value) in response.headers() {
                prop_assert!(!matches!(
                    name.as_str(),
                    "connection" | "transfer-encoding" | "content-length"
                ));
                prop_assert!(!value.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
            }
        }
    }
}

/// A record shorter than its 16-byte header cannot come from the arena
/// (`responseSlotBytes` is at least 256), but `from_record` should still
/// refuse it rather than index out of bounds.
#[test]
fn short_response_record_is_refused() {
    for len in 0..res::HEADER_BYTES {
        assert!(from_record(&vec![0u8; len], None).is_none());
    }
}
