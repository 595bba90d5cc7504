//! Static file mounts served by Rust (`app.static(prefix, dir, options)`):
//! no crossing to JavaScript per request.
//!
//! Choices, so the tests and docs can hold us to them:
//! - Only GET and HEAD are served; OPTIONS gets 204 and other methods 405,
//!   both with `Allow: GET, HEAD`.
//! - Traversal (`..`, `%2e%2e`, `%2f`, `\`, NUL, bad UTF-8), hidden files
//!   (unless `dotfiles: "allow"`) and symlinks resolving outside the root all
//!   answer 404, the same as a missing file: probing learns nothing.
//! - A directory asked for without its trailing slash is redirected (301) to
//!   the slash form when it has an index file, so relative links inside the
//!   index resolve against the directory; with the slash, the index is served.
//! - A mount owns its prefix: a miss is a 404 problem, unless `fallthrough`
//!   hands misses and other methods to the router (for a mount at `/`).
//! - Small files are kept in memory (`cache`): a repeated request for an
//!   unchanged one is answered on the I/O thread after one `stat`; anything
//!   else takes one hop to the blocking pool (`file`). Both build the
//!   response with the same code (`reply`), so they answer alike.

mod cache;
mod file;
mod path;
mod range;
mod reply;

use std::path::PathBuf;
use std::sync::Arc;

use http::header::{HeaderValue, ALLOW};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use serde::Deserialize;

use self::cache::{Cache, Key};
use self::reply::Ask;
use crate::body::{self, Body};
use crate::response::problem;

/// Whether hidden files (a segment starting with `.`) are served.
#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Dotfiles {
    /// Answer 404, as if they did not exist.
    #[default]
    Ignore,
    /// Serve them like any other file.
    Allow,
}

/// One mount, as sent by TypeScript (`lib/static.ts`).
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StaticMount {
    /// URL prefix without a trailing slash, e.g. `/assets` (`""` for `/`).
    pub(crate) prefix: String,
    /// Directory served under it (TypeScript resolves it to a real path).
    pub(crate) dir: String,
    /// `Cache-Control` value for files, 304s and 206s.
    #[serde(default)]
    pub(crate) cache_control: Option<String>,
    /// File served for a directory; `None` serves no index.
    #[serde(default = "default_index")]
    pub(crate) index: Option<String>,
    /// Hidden files.
    #[serde(default)]
    pub(crate) dotfiles: Dotfiles,
    /// Serve `name.br` / `name.gz` siblings to clients that accept them.
    #[serde(default = "yes")]
    pub(crate) precompressed: bool,
    /// Send `ETag` and honour `If-None-Match`.
    #[serde(default = "yes")]
    pub(crate) etags: bool,
    /// Misses and other methods go on to the router instead of 404/405.
    #[serde(default)]
    pub(crate) fallthrough: bool,
}

fn default_index() -> Option<String> {
    Some("index.html".into())
}

fn yes() -> bool {
    true
}

/// A mount checked and ready to serve.
#[derive(Debug)]
struct Mount {
    prefix: String,
    root: PathBuf,
    index: Option<String>,
    dotfiles: bool,
    precompressed: bool,
    etags: bool,
    fallthrough: bool,
    cache_control: Option<HeaderValue>,
}

impl Mount {
    fn from_config(config: &StaticMount) -> Result<Mount, String> {
        let prefix = &config.prefix;
        if !(prefix.is_empty() || prefix.starts_with('/')) || prefix.ends_with('/') {
            return Err(format!(
                "static prefix {prefix:?} must start with \"/\" and not end with one"
            ));
        }
        let root = std::fs::canonicalize(&config.dir)
            .map_err(|e| format!("static directory {:?} cannot be opened: {e}", config.dir))?;
        if !root.is_dir() {
            return Err(format!(
                "static directory {:?} is not a directory",
                config.dir
            ));
        }
        if let Some(index) = &config.index {
            if index.is_empty()
                || index.contains(['/', '\\', '\0'])
                || index == "."
                || index == ".."
            {
                return Err(format!("static index {index:?} must be a plain file name"));
            }
        }
        let cache_control = match &config.cache_control {
            Some(value) => Some(HeaderValue::from_str(value).map_err(|_| {
                format!("static cacheControl {value:?} is not a valid header value")
            })?),
            None => None,
        };
        Ok(Mount {
            prefix: prefix.clone(),
            root,
            index: config.index.clone(),
            dotfiles: config.dotfiles == Dotfiles::Allow,
            precompressed: config.precompressed,
            etags: config.etags,
            fallthrough: config.fallthrough,
            cache_control,
        })
    }

    /// The raw path after the prefix when `path` is under this mount.
    fn strip<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix(self.prefix.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    /// A miss: 404, or the router's turn.
    fn missing(&self) -> Option<Response<Body>> {
        (!self.fallthrough).then(|| problem(StatusCode::NOT_FOUND, "no file matches this path"))
    }
}

/// All mounts of one server, longest prefix first, and their file cache.
pub(crate) struct Statics {
    mounts: Vec<Arc<Mount>>,
    cache: Arc<Cache>,
}

impl Statics {
    /// Checks the mounts: prefixes, that each directory exists, the index
    /// name and the `Cache-Control` value.
    pub(crate) fn from_config(mounts: &[StaticMount]) -> Result<Statics, String> {
        let mut mounts = mounts
            .iter()
            .map(Mount::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        // Longest prefix first, so `/assets/img` wins over `/assets`.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        Ok(Statics {
            mounts: mounts.into_iter().map(Arc::new).collect(),
            cache: Arc::new(Cache::new()),
        })
    }

    /// Whether a mount's prefix covers `path`: only then does a request take
    /// the (boxed, asynchronous) static path.
    pub(crate) fn covers(&self, path: &str) -> bool {
        self.mounts.iter().any(|m| m.strip(path).is_some())
    }

    /// Answers a request under a mount, or `None` when no mount covers it
    /// (or a `fallthrough` mount has no file for it).
    pub(crate) async fn serve(&self, parts: &Parts) -> Option<Response<Body>> {
        if self.mounts.is_empty() {
            return None;
        }
        let path = parts.uri.path();
        let (index, mount, rest) = self
            .mounts
            .iter()
            .enumerate()
            .find_map(|(i, m)| Some((i, m, m.strip(path)?)))?;
        let head = match parts.method {
            Method::GET => false,
            Method::HEAD => true,
            _ if mount.fallthrough => return None,
            Method::OPTIONS => {
                return Some(allow(Response::new(body::empty()), StatusCode::NO_CONTENT))
            }
            _ => {
                let refused = problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "static files answer GET and HEAD only",
                );
                return Some(allow(refused, StatusCode::METHOD_NOT_ALLOWED));
            }
        };
        let Some(clean) = path::clean(rest, mount.dotfiles) else {
            return mount.missing();
        };
        let ask = Ask::from_headers(&parts.headers, head);
        let key = Key::new(index, &clean);
        if let Some(response) = self.cache.serve(&key, mount, &ask) {
            return Some(response);
        }
        let task = {
            let (mount, cache) = (mount.clone(), self.cache.clone());
            // A miss takes one hop to the blocking pool: resolve, check,
            // stat, open and read (or cache) the file, all in there.
            tokio::task::spawn_blocking(move || file::answer(&mount, &clean, &ask, &cache, key))
        };
        match task.await {
            Ok(Ok(response)) => Some(response),
            Ok(Err(file::Miss)) => mount.missing(),
            Err(_) => Some(problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reading the file failed",
            )),
        }
    }
}

fn allow(mut response: Response<Body>, status: StatusCode) -> Response<Body> {
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}
