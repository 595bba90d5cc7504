//! One static request, answered on the blocking pool: resolve the path
//! under the root, pick a precompressed sibling, check the validators and
//! the range, then send a small file whole or stream a large one.

use std::fs::{self, File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncReadExt, Take};

use super::path::Clean;
use super::range::{self, Ranged};
use super::Mount;
use crate::body::{self, Body};
use crate::response::problem;

/// Bytes read per chunk when streaming; files up to this size are read whole.
const CHUNK: usize = 64 * 1024;

/// The request headers a static answer depends on, copied out of the
/// request so the work can move to the blocking pool.
pub(super) struct Ask {
    head: bool,
    if_none_match: Option<String>,
    if_modified_since: Option<SystemTime>,
    range: Option<String>,
    if_range: Option<String>,
    /// Encodings to try, best first: `"br"`, `"gzip"`.
    encodings: Vec<&'static str>,
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
            encodings: text(header::ACCEPT_ENCODING).map_or_else(Vec::new, |v| encodings(&v)),
        }
    }
}

/// No file for this path (missing, refused, outside the root, not a regular file).
pub(super) struct Miss;

/// Answers one request for `clean` under `mount`. Blocking.
pub(super) fn answer(mount: &Mount, clean: &Clean, ask: &Ask) -> Result<Response<Body>, Miss> {
    let mut target = inside(
        mount,
        &mount.root.join(clean.segments.iter().collect::<PathBuf>()),
    )?;
    let mut meta = fs::metadata(&target).map_err(|_| Miss)?;
    if meta.is_dir() {
        let index = inside(mount, &target.join(mount.index.as_deref().ok_or(Miss)?))?;
        meta = fs::metadata(&index).map_err(|_| Miss)?;
        if !meta.is_file() {
            return Err(Miss);
        }
        if !clean.dir {
            return Ok(redirect(mount, clean));
        }
        target = index;
    } else if clean.dir || !meta.is_file() {
        return Err(Miss);
    }
    let content_type = content_type(&target);
    let (target, encoding) = if mount.precompressed {
        variant(mount, target, ask)
    } else {
        (target, None)
    };
    let mut file = match File::open(&target).and_then(|f| f.metadata().map(|m| (f, m))) {
        Ok((file, m)) if m.is_file() => {
            meta = m;
            file
        }
        Ok(_) => return Err(Miss),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Err(Miss),
        Err(_) => return Ok(failed()),
    };
    let len = meta.len();
    let tag = if mount.etags {
        etag(&meta, encoding)
    } else {
        None
    };
    let modified = meta.modified().ok();
    let mut response = Response::new(body::empty());
    let headers = response.headers_mut();
    if let Some(value) = &mount.cache_control {
        headers.insert(header::CACHE_CONTROL, value.clone());
    }
    if mount.precompressed {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Some(tag) = tag.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(header::ETAG, tag);
    }
    if let Some(date) =
        modified.and_then(|m| HeaderValue::from_str(&httpdate::fmt_http_date(m)).ok())
    {
        headers.insert(header::LAST_MODIFIED, date);
    }
    if not_modified(ask, tag.as_deref(), modified) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    let ranged = match &ask.range {
        // RFC 9110 §14.2: Range only applies to GET.
        Some(value) if !ask.head && range_applies(ask, tag.as_deref(), modified) => {
            range::parse(value, len)
        }
        _ => Ranged::Whole,
    };
    let (start, count) = match ranged {
        Ranged::Whole => (0, len),
        Ranged::Part { start, end } => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let value = format!("bytes {start}-{end}/{len}");
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&value).map_err(|_| Miss)?,
            );
            (start, end - start + 1)
        }
        Ranged::Unsatisfiable => {
            let mut refused = problem(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "the range is outside the file",
            );
            let value = HeaderValue::from_str(&format!("bytes */{len}")).map_err(|_| Miss)?;
            refused.headers_mut().insert(header::CONTENT_RANGE, value);
            refused
                .headers_mut()
                .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return Ok(refused);
        }
    };
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if ask.head || count == 0 {
        return Ok(response);
    }
    let read = file.seek(SeekFrom::Start(start)).and_then(|_| {
        if count <= CHUNK as u64 {
            let mut buf = vec![0; count as usize];
            file.read_exact(&mut buf).map(|_| body::full(buf))
        } else {
            // Streamed in CHUNK-sized reads: memory stays bounded whatever the size.
            let reader = tokio::fs::File::from_std(file).take(count);
            Ok(body::streamed(FileBody {
                reader,
                remaining: count,
            }))
        }
    });
    match read {
        Ok(body) => {
            *response.body_mut() = body;
            Ok(response)
        }
        Err(_) => Ok(failed()),
    }
}

/// The canonical form of `path` when it exists and stays under the root:
/// a symlink that leads outside is treated as missing.
fn inside(mount: &Mount, path: &Path) -> Result<PathBuf, Miss> {
    let real = fs::canonicalize(path).map_err(|_| Miss)?;
    if real.starts_with(&mount.root) {
        Ok(real)
    } else {
        Err(Miss)
    }
}

/// `dir` without its slash: 301 to the slash form, built from the cleaned
/// segments so it can never become a `//host` (open redirect) URL.
fn redirect(mount: &Mount, clean: &Clean) -> Response<Body> {
    let mut location = mount.prefix.clone();
    for raw in &clean.raw {
        location.push('/');
        location.push_str(raw);
    }
    location.push('/');
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn failed() -> Response<Body> {
    problem(StatusCode::INTERNAL_SERVER_ERROR, "reading the file failed")
}

/// MIME type from the file name; text gets `charset=utf-8`.
fn content_type(path: &Path) -> HeaderValue {
    let mime = mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    if mime.starts_with("text/") || mime == "application/javascript" {
        HeaderValue::from_str(&format!("{mime}; charset=utf-8"))
            .unwrap_or(HeaderValue::from_static(mime))
    } else {
        HeaderValue::from_static(mime)
    }
}

/// The best precompressed sibling (`name.br`, `name.gz`) the client accepts,
/// or the file itself.
fn variant(mount: &Mount, path: PathBuf, ask: &Ask) -> (PathBuf, Option<&'static str>) {
    for &encoding in &ask.encodings {
        let mut name = path.clone().into_os_string();
        name.push(if encoding == "br" { ".br" } else { ".gz" });
        if let Ok(sibling) = inside(mount, Path::new(&name)) {
            if fs::metadata(&sibling).is_ok_and(|m| m.is_file()) {
                return (sibling, Some(encoding));
            }
        }
    }
    (path, None)
}

/// `br` and `gzip` in the client's order of preference (q > 0), `br`
/// first on a tie; `*` stands for whichever is not named.
fn encodings(accept: &str) -> Vec<&'static str> {
    let (mut br, mut gzip, mut star) = (None, None, None);
    for item in accept.split(',') {
        let mut params = item.split(';');
        let name = params.next().unwrap_or("").trim();
        let q = params
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
        if name.eq_ignore_ascii_case("br") {
            br = Some(q);
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(q);
        } else if name == "*" {
            star = Some(q);
        }
    }
    let (br, gzip) = (br.or(star).unwrap_or(0.0), gzip.or(star).unwrap_or(0.0));
    let mut out = Vec::with_capacity(2);
    match (br > 0.0, gzip > 0.0) {
        (true, true) if gzip > br => out.extend(["gzip", "br"]),
        (true, true) => out.extend(["br", "gzip"]),
        (true, false) => out.push("br"),
        (false, true) => out.push("gzip"),
        (false, false) => {}
    }
    out
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

/// A file section streamed in `CHUNK`-sized frames, with an exact size hint.
struct FileBody {
    reader: Take<tokio::fs::File>,
    remaining: u64,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let mut buf = BytesMut::with_capacity(CHUNK.min(this.remaining as usize));
        let read = ready!(tokio_util::io::poll_read_buf(
            Pin::new(&mut this.reader),
            cx,
            &mut buf
        ));
        Poll::Ready(Some(match read {
            // The file shrank under us: fail the body rather than send short.
            Ok(0) => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank while being sent",
            )),
            Ok(n) => {
                this.remaining -= n as u64;
                Ok(Frame::data(buf.freeze()))
            }
            Err(e) => Err(e),
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_preference() {
        assert_eq!(encodings("gzip, deflate, br"), vec!["br", "gzip"]);
        assert_eq!(encodings("gzip"), vec!["gzip"]);
        assert_eq!(encodings("br;q=0.5, gzip;q=0.9"), vec!["gzip", "br"]);
        assert_eq!(encodings("br;q=0, gzip"), vec!["gzip"]);
        assert_eq!(encodings("*"), vec!["br", "gzip"]);
        assert_eq!(encodings("*;q=0, gzip"), vec!["gzip"]);
        assert_eq!(encodings("identity"), Vec::<&str>::new());
    }
}
