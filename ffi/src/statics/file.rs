//! One static request that missed the cache, answered on the blocking
//! pool: resolve the path under the root, then either load the file into
//! the cache and answer from it, or (too large, just changed, no room)
//! pick a precompressed sibling and send a small file whole or stream a
//! large one.

use std::fs::{self, File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncReadExt, Take};

use super::cache::{Cache, Key};
use super::path::Clean;
use super::reply::{self, Ask, Head};
use super::Mount;
use crate::body::{self, Body};

/// Bytes read per chunk when streaming; files up to this size are read whole.
const CHUNK: usize = 64 * 1024;

/// The precompressed encodings, in the order siblings are looked for.
pub(super) const ENCODINGS: [&str; 2] = ["br", "gzip"];

/// No file for this path (missing, refused, outside the root, not a regular file).
pub(super) struct Miss;

/// A regular file (or a directory's index) found under the root.
#[derive(Clone)]
pub(super) struct Found {
    /// The path as asked (root, segments, index), symlinks unresolved: what
    /// a cache hit stats, so a symlink along it that changes shows as
    /// another file.
    pub(super) asked: PathBuf,
    /// Its canonical form, checked to be under the root: the file opened.
    pub(super) real: PathBuf,
}

/// What a cleaned path names.
enum Resolved {
    File(Found),
    /// A directory with an index, asked for without its trailing slash.
    Redirect,
}

/// Answers one request for `clean` under `mount`, keeping the file in
/// `cache` under `key` when it qualifies. Blocking.
pub(super) fn answer(
    mount: &Mount,
    clean: &Clean,
    ask: &Ask,
    cache: &Cache,
    key: Key,
) -> Result<Response<Body>, Miss> {
    let found = match resolve(mount, clean)? {
        Resolved::File(found) => found,
        Resolved::Redirect => return Ok(redirect(mount, clean)),
    };
    if let Some(entry) = cache.fill(key, mount, &found) {
        return Ok(entry.respond(mount, ask));
    }
    uncached(mount, found.real, ask)
}

/// Finds the file `clean` names: the symlink check, and a directory's index.
fn resolve(mount: &Mount, clean: &Clean) -> Result<Resolved, Miss> {
    let asked = mount.root.join(clean.segments.iter().collect::<PathBuf>());
    let real = inside(mount, &asked)?;
    let meta = fs::metadata(&real).map_err(|_| Miss)?;
    if meta.is_dir() {
        let name = mount.index.as_deref().ok_or(Miss)?;
        let index = inside(mount, &real.join(name))?;
        if !fs::metadata(&index).is_ok_and(|m| m.is_file()) {
            return Err(Miss);
        }
        return Ok(if clean.dir {
            Resolved::File(Found {
                asked: asked.join(name),
                real: index,
            })
        } else {
            Resolved::Redirect
        });
    }
    if clean.dir || !meta.is_file() {
        return Err(Miss);
    }
    Ok(Resolved::File(Found { asked, real }))
}

/// Reads `target` (or the sibling the client prefers) straight from disk.
fn uncached(mount: &Mount, target: PathBuf, ask: &Ask) -> Result<Response<Body>, Miss> {
    let content_type = content_type(&target);
    let (target, encoding) = if mount.precompressed {
        variant(mount, target, ask)
    } else {
        (target, None)
    };
    let (file, meta) = match open(&target) {
        Ok(Some(opened)) => opened,
        Ok(None) => return Err(Miss),
        Err(_) => return Ok(reply::failed()),
    };
    let head = Head::new(mount, content_type, encoding, &meta);
    Ok(reply::respond(mount, ask, &head, |start, count| {
        read(file, start, count)
    }))
}

/// Opens a regular file with its metadata; `Ok(None)` when it is not one
/// or may not be read (answered like a missing file).
pub(super) fn open(path: &Path) -> std::io::Result<Option<(File, Metadata)>> {
    match File::open(path).and_then(|f| f.metadata().map(|m| (f, m))) {
        Ok((file, meta)) if meta.is_file() => Ok(Some((file, meta))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(None),
        Err(e) => Err(e),
    }
}

/// `count` bytes of `file` from `start`: whole when small, else streamed in
/// CHUNK-sized reads so memory stays bounded whatever the size.
fn read(mut file: File, start: u64, count: u64) -> std::io::Result<Body> {
    file.seek(SeekFrom::Start(start))?;
    if count <= CHUNK as u64 {
        let mut buf = vec![0; count as usize];
        file.read_exact(&mut buf)?;
        return Ok(body::full(buf));
    }
    let reader = tokio::fs::File::from_std(file).take(count);
    Ok(body::streamed(FileBody {
        reader,
        remaining: count,
    }))
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

/// MIME type from the file name; text gets `charset=utf-8`.
pub(super) fn content_type(path: &Path) -> HeaderValue {
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
        if let Some(sibling) = sibling(mount, &path, encoding) {
            return (sibling, Some(encoding));
        }
    }
    (path, None)
}

/// The canonical path of `path`'s sibling for `encoding` when it is a
/// regular file under the root.
pub(super) fn sibling(mount: &Mount, path: &Path, encoding: &str) -> Option<PathBuf> {
    let sibling = inside(mount, &sibling_name(path, encoding)).ok()?;
    fs::metadata(&sibling)
        .is_ok_and(|m| m.is_file())
        .then_some(sibling)
}

/// Where `path`'s sibling for `encoding` would be: `name.br`, `name.gz`.
pub(super) fn sibling_name(path: &Path, encoding: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(if encoding == "br" { ".br" } else { ".gz" });
    PathBuf::from(name)
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
