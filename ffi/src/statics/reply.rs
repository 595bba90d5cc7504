//! Builds a static answer from one representation (the file or one of its
//! precompressed siblings): validators and 304, `Range` and 206/416, HEAD,
//! `Cache-Control` and `Vary`. Cached and uncached files share this code,
//! so a cache hit answers exactly what a fresh read would.

use std::fs::Metadata;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

use super::range::{self, Ranged};
use super::Mount;
use crate::accept_encoding::{AcceptEncoding, Encoding};
use crate::body::{self, Body};
use crate::response::problem;

/// The request headers a static answer depends on, copied out of the
/// request so the work can move to the blocking pool.
pub(super) struct Ask {
    pub(super) head: bool,
    if_none_match: Option<String>,
    if_modified_since: Option<SystemTime>,
    range: Option<String>,
    if_range: Option<String>,
    /// Precompressed siblings to try, best first (`"br"`, `"gzip"`), as
    /// `crate::accept_encoding` ranks them for `compress()` too.
    pub(super) encodings: Vec<&'static str>,
}

impl Ask {
    /// Copies what matters out of `headers`.
    pub(super) fn from_headers(headers: &HeaderMap, head: bool) -> Ask {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Ask {
            head,
            if_none_match: text(header::IF_NONE_MATCH),
            if_modified_since: text(header::IF_MODIFIED_SINCE)
                .and_then(|v| httpdate::parse_http_date(&v).ok()),
            range: text(header::RANGE),
            if_range: text(header::IF_RANGE),
            encodings: AcceptEncoding::from_headers(headers).map_or_else(Vec::new, |accept| {
                let ranked = accept.ranked(&[Encoding::Brotli, Encoding::Gzip]);
                ranked.into_iter().map(Encoding::token).collect()
            }),
        }
    }
}

/// One representation's headers, built once from its metadata (a cache
/// entry keeps them, so a hit formats no dates or tags).
pub(super) struct Head {
    content_type: HeaderValue,
    encoding: Option<&'static str>,
    len: u64,
    modified: Option<SystemTime>,
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    /// `Content-Length` of the whole representation.
    length: HeaderValue,
}

impl Head {
    /// The headers of a file with `meta`, sent with `encoding` (`None`:
    /// identity). `content_type` is that of the file asked for, whichever
    /// sibling is sent.
    pub(super) fn new(
        mount: &Mount,
        content_type: HeaderValue,
        encoding: Option<&'static str>,
        meta: &Metadata,
    ) -> Head {
        let modified = meta.modified().ok();
        let etag = if mount.etags {
            etag(meta, encoding).and_then(|tag| HeaderValue::from_str(&tag).ok())
        } else {
            None
        };
        Head {
            content_type,
            encoding,
            len: meta.len(),
            modified,
            etag,
            last_modified: modified
                .and_then(|m| HeaderValue::from_str(&httpdate::fmt_http_date(m)).ok()),
            length: HeaderValue::from(meta.len()),
        }
    }

    pub(super) fn encoding(&self) -> Option<&'static str> {
        self.encoding
    }

    fn tag(&self) -> Option<&str> {
        self.etag.as_ref().and_then(|v| v.to_str().ok())
    }
}

/// The answer for `head`: 304, 416, 206 or 200, without a body for HEAD.
/// `read(start, count)` supplies the bytes sent; it is called at most once,
/// and only when there is something to send.
pub(super) fn respond(
    mount: &Mount,
    ask: &Ask,
    head: &Head,
    read: impl FnOnce(u64, u64) -> std::io::Result<Body>,
) -> Response<Body> {
    let mut response = Response::new(body::empty());
    let headers = response.headers_mut();
    if let Some(value) = &mount.cache_control {
        headers.insert(header::CACHE_CONTROL, value.clone());
    }
    if mount.precompressed {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Some(tag) = &head.etag {
        headers.insert(header::ETAG, tag.clone());
    }
    if let Some(date) = &head.last_modified {
        headers.insert(header::LAST_MODIFIED, date.clone());
    }
    if not_modified(ask, head.tag(), head.modified) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    headers.insert(header::CONTENT_TYPE, head.content_type.clone());
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(encoding) = head.encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    let (start, count) = match ranged(ask, head) {
        Ranged::Whole => {
            headers.insert(header::CONTENT_LENGTH, head.length.clone());
            (0, head.len)
        }
        Ranged::Part { start, end } => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let headers = response.headers_mut();
            let range = format!("bytes {start}-{end}/{}", head.len);
            if let Ok(value) = HeaderValue::from_str(&range) {
                headers.insert(header::CONTENT_RANGE, value);
            }
            let count = end - start + 1;
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
            (start, count)
        }
        Ranged::Unsatisfiable => return unsatisfiable(head.len),
    };
    if ask.head || count == 0 {
        return response;
    }
    match read(start, count) {
        Ok(body) => {
            *response.body_mut() = body;
            response
        }
        Err(_) => failed(),
    }
}

/// The range to send: RFC 9110 §14.2, Range only applies to GET, and
/// only while `If-Range` (when sent) still matches.
fn ranged(ask: &Ask, head: &Head) -> Ranged {
    match &ask.range {
        Some(value) if !ask.head && range_applies(ask, head.tag(), head.modified) => {
            range::parse(value, head.len)
        }
        _ => Ranged::Whole,
    }
}

fn unsatisfiable(len: u64) -> Response<Body> {
    let mut refused = problem(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "the range is outside the file",
    );
    let headers = refused.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    refused
}

/// 500: the file could not be read.
pub(super) fn failed() -> Response<Body> {
    problem(StatusCode::INTERNAL_SERVER_ERROR, "reading the file failed")
}

/// A strong validator from size and modification time, one per encoding.
fn etag(meta: &Metadata, encoding: Option<&str>) -> Option<String> {
    let since = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    let suffix = encoding.map_or(String::new(), |e| format!("-{e}"));
    Some(format!(
        "\"{:x}-{:x}.{:x}{suffix}\"",
        meta.len(),
        since.as_secs(),
        since.subsec_nanos()
    ))
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// RFC 9110 §13.2.2: `If-None-Match` wins; `If-Modified-Since` only counts
/// without it.
fn not_modified(ask: &Ask, tag: Option<&str>, modified: Option<SystemTime>) -> bool {
    if let Some(list) = &ask.if_none_match {
        return tag.is_some_and(|tag| {
            list.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == tag)
        });
    }
    match (ask.if_modified_since, modified) {
        (Some(since), Some(modified)) => seconds(modified) <= seconds(since),
        _ => false,
    }
}

/// `If-Range`: the range only applies while the client's copy is current
/// (strong comparison for a tag, exact date otherwise).
fn range_applies(ask: &Ask, tag: Option<&str>, modified: Option<SystemTime>) -> bool {
    let Some(value) = ask.if_range.as_deref().map(str::trim) else {
        return true;
    };
    if value.starts_with('"') || value.starts_with("W/") {
        return tag == Some(value);
    }
    match (httpdate::parse_http_date(value), modified) {
        (Ok(date), Some(modified)) => seconds(date) == seconds(modified),
        _ => false,
    }
}
