//! Golden response records: the bytes TypeScript's `ReplyWriter`
//! (`lib/_encode.ts`) must write for a set of replies, kept in
//! `tests/golden/response_records.json` and checked from both sides, so the
//! fuzzed Rust decoder and the TypeScript encoder cannot drift apart.
//!
//! This side encodes each case following `layout::res` (the reference the
//! file is made from), checks that `from_record` decodes it to the reply it
//! came from, and compares the result with the committed file; with
//! `FERRY_WRITE_GOLDEN=1` it rewrites the file instead.
//! `tests/crossing_golden_test.ts` encodes the same replies with
//! `ReplyWriter` and compares the bytes.

use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::layout::res;
use crate::response::from_record;

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/golden/response_records.json"
);

/// A reply body as TypeScript holds it.
enum Body {
    None,
    Text(String),
    Bytes(Vec<u8>),
}

/// One reply, written into a response half of `slot` bytes.
struct Case {
    name: &'static str,
    slot: usize,
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

fn case(name: &'static str, status: u16, headers: &[(&'static str, &str)], body: Body) -> Case {
    let headers = headers.iter().map(|(n, v)| (*n, v.to_string())).collect();
    Case {
        name,
        slot: 256,
        status,
        headers,
        body,
    }
}

fn cases() -> Vec<Case> {
    const TEXT: &str = "text/plain; charset=utf-8";
    let text = |s: &str| Body::Text(s.to_string());
    // 256 - 16 (words) - 38 (the content-type line): the room left for a body.
    let room = 256 - res::HEADER_BYTES - "content-type:text/plain; charset=utf-8\n".len();
    vec![
        case(
            "text",
            200,
            &[("content-type", TEXT)],
            text("Hello, World!"),
        ),
        case(
            "json with a custom header",
            201,
            &[("content-type", "application/json"), ("x-custom", "1")],
            text(r#"{"ok":true}"#),
        ),
        case("no body", 204, &[], Body::None),
        case("empty text", 200, &[("content-type", TEXT)], text("")),
        case(
            "bytes",
            200,
            &[("content-type", "application/octet-stream")],
            Body::Bytes(vec![0, 1, 2, 0x7f, 0x80, 0xff]),
        ),
        case(
            "UTF-8 body",
            200,
            &[("content-type", TEXT)],
            text("caf\u{e9} \u{2615} \u{1f600}"),
        ),
        case(
            "Latin-1 and tab in a header value",
            200,
            &[("x-latin1", "caf\u{e9}\tna\u{ef}ve \u{ff}")],
            text("ok"),
        ),
        case("redirect", 302, &[("location", "/next?q=1")], Body::None),
        case(
            "hop-by-hop header dropped by Rust",
            200,
            &[("connection", "close"), ("x-ok", "1")],
            text("ok"),
        ),
        case(
            "problem+json",
            404,
            &[("content-type", "application/problem+json")],
            text(
                r#"{"type":"about:blank","title":"Not Found","status":404,"detail":"no route matches this path"}"#,
            ),
        ),
        case(
            "body exactly filling the slot",
            200,
            &[("content-type", TEXT)],
            text(&"a".repeat(room)),
        ),
        case(
            "text one byte too long goes outside",
            200,
            &[("content-type", TEXT)],
            text(&"a".repeat(room + 1)),
        ),
        case(
            "UTF-16 length fits, UTF-8 does not",
            200,
            &[("content-type", TEXT)],
            text(&"\u{e9}".repeat(room / 2 + 1)),
        ),
        case(
            "bytes outside",
            200,
            &[("content-type", "application/octet-stream")],
            Body::Bytes((0..=255u8).cycle().take(300).collect()),
        ),
        case(
            "headers outside too",
            200,
            &[("x-long", &"v".repeat(260)), ("content-type", TEXT)],
            text("after a long head"),
        ),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Header text as bytes, one byte per character, as `writeLatin1` does.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("golden headers are Latin-1"))
        .collect()
}

fn words(status: u16, head: usize, body: usize, flags: u32) -> Vec<u8> {
    let words = [u32::from(status), head as u32, body as u32, flags];
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The record and the `ferry_set_body` bytes `ReplyWriter.write` makes for
/// `case`: the head inline if it fits, then the body inline if it fits
/// after it, else outside; a head that does not fit goes outside with the
/// body, as `head ++ body`. Only the bytes written are returned.
fn encode(case: &Case) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut head = Vec::new();
    for (name, value) in &case.headers {
        head.extend(latin1(name));
        head.push(b':');
        head.extend(latin1(value));
        head.push(b'\n');
    }
    let body = match &case.body {
        Body::None => Vec::new(),
        Body::Text(text) => text.as_bytes().to_vec(),
        Body::Bytes(bytes) => bytes.clone(),
    };
    let room = case.slot - res::HEADER_BYTES;
    if head.len() > room {
        let record = words(case.status, head.len(), body.len(), res::FLAG_HEAD_OUTSIDE);
        return (record, Some([head, body].concat()));
    }
    if body.len() > room - head.len() {
        let mut record = words(case.status, head.len(), body.len(), res::FLAG_BODY_OUTSIDE);
        record.extend(head);
        return (record, Some(body));
    }
    let mut record = words(case.status, head.len(), body.len(), 0);
    record.extend(head);
    record.extend(body);
    (record, None)
}

/// What `from_record` makes of a record: status, headers, body.
fn decode(case: &Case, record: &[u8], outside: Option<Vec<u8>>) -> Value {
    // The rest of the slot holds whatever was there before.
    let mut slot = vec![0xaa; case.slot];
    slot[..record.len()].copy_from_slice(record);
    let response = from_record(&slot, outside)
        .unwrap_or_else(|| panic!("{}: from_record refused the record", case.name));
    let status = response.status().as_u16();
    let headers: Vec<Value> = response
        .headers()
        .iter()
        .map(|(n, v)| {
            let value: String = v.as_bytes().iter().map(|b| char::from(*b)).collect();
            json!([n.as_str(), value])
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let body = rt
        .block_on(response.into_body().collect())
        .unwrap()
        .to_bytes();
    json!({ "status": status, "headers": headers, "body": hex(&body) })
}

/// The decoded response `case` should give: its own status, headers in
/// order except hop-by-hop ones (hyper's), and body.
fn expected(case: &Case) -> Value {
    let headers: Vec<Value> = case
        .headers
        .iter()
        .filter(|(name, _)| *name != "connection")
        .map(|(n, v)| json!([n, v]))
        .collect();
    let body = match &case.body {
        Body::None => Vec::new(),
        Body::Text(text) => text.as_bytes().to_vec(),
        Body::Bytes(bytes) => bytes.clone(),
    };
    json!({ "status": case.status, "headers": headers, "body": hex(&body) })
}

fn golden() -> Value {
    let cases: Vec<Value> = cases()
        .iter()
        .map(|case| {
            let (record, outside) = encode(case);
            let decoded = decode(case, &record, outside.clone());
            assert_eq!(decoded, expected(case), "{}: decoded", case.name);
            let body = match &case.body {
                Body::None => json!({ "kind": "none" }),
                Body::Text(text) => json!({ "kind": "text", "text": text }),
                Body::Bytes(bytes) => json!({ "kind": "bytes", "hex": hex(bytes) }),
            };
            let headers: Vec<Value> = case.headers.iter().map(|(n, v)| json!([n, v])).collect();
            json!({
                "name": case.name,
                "responseSlotBytes": case.slot,
                "reply": { "status": case.status, "headers": headers, "body": body },
                "record": hex(&record),
                "outside": outside.map(|o| hex(&o)),
                "decoded": decoded,
            })
        })
        .collect();
    json!({
        "about": "Response records ReplyWriter (lib/_encode.ts) must write for these replies. \
                  Made by ffi/src/golden.rs: FERRY_WRITE_GOLDEN=1 cargo test --lib golden",
        "cases": cases,
    })
}

#[test]
fn response_records_match_the_golden_file() {
    let made = golden();
    if std::env::var_os("FERRY_WRITE_GOLDEN").is_some_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(&made).unwrap() + "\n";
        std::fs::write(FILE, text).expect("writing the golden file");
        return;
    }
    let committed = std::fs::read_to_string(FILE).expect("tests/golden/response_records.json");
    // Compared as JSON, not text: key order and layout (deno fmt) may vary.
    let committed: Value = serde_json::from_str(&committed).expect("the golden file is JSON");
    assert!(
        committed == made,
        "tests/golden/response_records.json is stale: rerun with FERRY_WRITE_GOLDEN=1 \
         and check the diff"
    );
}
