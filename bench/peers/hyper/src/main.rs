//! The ceiling peer of Ferry's load benchmarks: a plain hyper 1.x server with
//! no JavaScript at all. It answers the same scenarios as the other peers in
//! `bench/peers/` with byte-identical bodies and content types.
//!
//! Environment: `PORT` (default 8000), `THREADS` worker threads (default 1:
//! a current-thread runtime), `STATIC_DIR` (directory served under /static).

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
const OCTETS: &str = "application/octet-stream";
const MIDDLEWARE: usize = 16;

/// Per-request context the middleware chains write into.
struct Ctx {
    n: u32,
}

type SyncMw = fn(&mut Ctx);
type AsyncMw = fn(Ctx) -> Pin<Box<dyn Future<Output = Ctx> + Send>>;

fn count(ctx: &mut Ctx) {
    ctx.n += 1;
}

fn count_async(mut ctx: Ctx) -> Pin<Box<dyn Future<Output = Ctx> + Send>> {
    Box::pin(async move {
        ctx.n += 1;
        ctx
    })
}

static SYNC_CHAIN: [SyncMw; MIDDLEWARE] = [count; MIDDLEWARE];
static ASYNC_CHAIN: [AsyncMw; MIDDLEWARE] = [count_async; MIDDLEWARE];
static STATIC_DIR: OnceLock<PathBuf> = OnceLock::new();

fn respond(
    status: StatusCode,
    ctype: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    res
}

fn not_found() -> Response<Full<Bytes>> {
    respond(StatusCode::NOT_FOUND, TEXT, "Not Found")
}

/// Appends `s` to `out` as a JSON string literal.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_get(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k) == key).then(|| form_decode(v))
    })
}

fn user(req: &Request<Incoming>, id: &str) -> Response<Full<Bytes>> {
    let name = query_get(req.uri().query(), "name").unwrap_or_default();
    let token = req
        .headers()
        .get("x-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut body = String::with_capacity(64);
    body.push_str("{\"id\":");
    json_str(&mut body, id);
    body.push_str(",\"name\":");
    json_str(&mut body, &name);
    body.push_str(",\"token\":");
    json_str(&mut body, token);
    body.push('}');
    let mut res = respond(StatusCode::OK, JSON, body);
    res.headers_mut()
        .insert("x-custom", HeaderValue::from_static("1"));
    res
}

fn middleware_done(ctx: Ctx) -> Response<Full<Bytes>> {
    let mut res = respond(StatusCode::OK, JSON, "{\"ok\":true}");
    res.headers_mut().insert("x-mw", HeaderValue::from(ctx.n));
    res
}

/// Small files kept in memory, checked with one `stat` per request: the
/// same work Ferry's `app.static` cache does (docs/static.md), without a
/// framework around it, so the ratio compares like with like.
struct Cached {
    len: u64,
    modified: Option<std::time::SystemTime>,
    bytes: Bytes,
}

static FILES: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Cached>>> =
    OnceLock::new();

async fn static_file(name: &str) -> Response<Full<Bytes>> {
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return not_found();
    }
    let Some(dir) = STATIC_DIR.get() else {
        return not_found();
    };
    let path = dir.join(name);
    let Ok(meta) = std::fs::metadata(&path) else {
        return not_found();
    };
    let (len, modified) = (meta.len(), meta.modified().ok());
    let files = FILES.get_or_init(Default::default);
    if let Some(hit) = files.lock().ok().and_then(|map| {
        map.get(name)
            .filter(|c| c.len == len && c.modified == modified)
            .map(|c| c.bytes.clone())
    }) {
        return respond(StatusCode::OK, OCTETS, hit);
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let bytes = Bytes::from(bytes);
            if let Ok(mut map) = files.lock() {
                let entry = Cached {
                    len,
                    modified,
                    bytes: bytes.clone(),
                };
                map.insert(name.to_owned(), entry);
            }
            respond(StatusCode::OK, OCTETS, bytes)
        }
        Err(_) => not_found(),
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let res = match (req.method(), path.as_str()) {
        (&Method::GET, "/") => respond(StatusCode::OK, TEXT, "Hello, World!"),
        (&Method::GET, "/const") => respond(StatusCode::OK, JSON, "{\"status\":\"ok\"}"),
        (&Method::GET, "/mw") => {
            let mut ctx = Ctx { n: 0 };
            for mw in black_box(&SYNC_CHAIN) {
                mw(&mut ctx);
            }
            middleware_done(ctx)
        }
        (&Method::GET, "/mw-async") => {
            let mut ctx = Ctx { n: 0 };
            for mw in black_box(&ASYNC_CHAIN) {
                ctx = mw(ctx).await;
            }
            middleware_done(ctx)
        }
        (&Method::POST, "/json") => match req.into_body().collect().await {
            Ok(collected) => {
                match serde_json::from_slice::<serde_json::Value>(&collected.to_bytes()) {
                    Ok(value) => respond(
                        StatusCode::OK,
                        JSON,
                        serde_json::to_vec(&value).unwrap_or_default(),
                    ),
                    Err(_) => respond(StatusCode::BAD_REQUEST, TEXT, "Bad Request"),
                }
            }
            Err(_) => respond(StatusCode::BAD_REQUEST, TEXT, "Bad Request"),
        },
        (&Method::GET, p) if p.starts_with("/user/") && p.len() > 6 && !p[6..].contains('/') => {
            user(&req, &p[6..])
        }
        (&Method::GET, p) if p.starts_with("/static/") => static_file(&p[8..]).await,
        _ => not_found(),
    };
    Ok(res)
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service_fn(handle));
            let _ = conn.await;
        });
    }
}

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1)
        .max(1);
    if let Ok(dir) = std::env::var("STATIC_DIR") {
        let _ = STATIC_DIR.set(PathBuf::from(dir));
    }
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(serve(port))
}
