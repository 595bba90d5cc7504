//! `compress()`: gzip or brotli, negotiated from `Accept-Encoding`. Whole
//! in-memory bodies (what TypeScript, const routes and errors answer) are
//! compressed at once and get an exact `Content-Length`; streamed bodies
//! (static files) are compressed chunk by chunk (`compress_stream`). A
//! static mount's precompressed `.br`/`.gz` siblings already carry a
//! `Content-Encoding` and are passed through, which is cheaper still.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, ETAG};
use http::response::Parts;
use http::{HeaderMap, Response};
use http_body::Body as _;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{Either, Full};
use serde::Deserialize;

use super::accept::{eligible, skipped_status};
use super::add_vary;
use super::compress_stream::Compressing;
use crate::accept_encoding::{AcceptEncoding, Encoding};
use crate::body::{full, streamed, Body};
use crate::response::LiveStream;

/// `compress()` settings; `lib/native.ts` documents the defaults.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CompressConfig {
    /// Smallest body compressed, in bytes: below it the saving is smaller
    /// than the headers and the CPU spent.
    threshold: usize,
    /// Codings offered, preferred first on equal q-values: `br`, `gzip`.
    encodings: Vec<String>,
    /// flate2 level, 1..=9.
    gzip_level: u32,
    /// brotli quality, 1..=11; 11 is far too slow for per-request work.
    brotli_quality: u32,
}

/// The checked compression settings.
pub(crate) struct Compress {
    threshold: usize,
    /// Enabled codings, preferred first.
    offered: Vec<Encoding>,
    gzip_level: u32,
    brotli_quality: u32,
}

impl Compress {
    /// Checks the settings.
    pub(crate) fn new(config: &CompressConfig) -> Result<Compress, String> {
        let mut offered = Vec::new();
        for name in &config.encodings {
            let encoding = match name.as_str() {
                "br" => Encoding::Brotli,
                "gzip" => Encoding::Gzip,
                other => {
                    return Err(format!(
                        "compress: unknown encoding {other:?} (use \"br\" or \"gzip\")"
                    ))
                }
            };
            if !offered.contains(&encoding) {
                offered.push(encoding);
            }
        }
        if offered.is_empty() {
            return Err("compress: encodings must not be empty".into());
        }
        if !(1..=9).contains(&config.gzip_level) {
            return Err("compress: gzipLevel must be 1 to 9".into());
        }
        if !(1..=11).contains(&config.brotli_quality) {
            return Err("compress: brotliQuality must be 1 to 11".into());
        }
        Ok(Compress {
            threshold: config.threshold,
            offered,
            gzip_level: config.gzip_level,
            brotli_quality: config.brotli_quality,
        })
    }

    /// Picks the coding for a request's `Accept-Encoding`, or `None`; the
    /// same reading static files use to pick a precompressed sibling.
    pub(crate) fn negotiate(&self, headers: &HeaderMap) -> Option<Encoding> {
        AcceptEncoding::from_headers(headers)?.best(&self.offered)
    }

    /// Compresses an eligible response for the negotiated coding and marks
    /// it `Vary: Accept-Encoding`; anything else passes through unchanged.
    pub(crate) fn on_response(
        &self,
        encoding: Option<Encoding>,
        head: bool,
        response: Response<Body>,
    ) -> Response<Body> {
        if head || skipped_status(response.status()) || !eligible(response.headers()) {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let bytes = match body {
            Either::Left(whole) => take_bytes(whole),
            Either::Right(stream) => return self.stream(encoding, parts, stream),
        };
        if bytes.len() < self.threshold {
            return Response::from_parts(parts, full(bytes));
        }
        add_vary(&mut parts.headers, "Accept-Encoding");
        let Some(encoding) = encoding else {
            return Response::from_parts(parts, full(bytes));
        };
        let packed = match encoding {
            Encoding::Gzip => gzip(&bytes, self.gzip_level),
            Encoding::Brotli => brotli(&bytes, self.brotli_quality),
        };
        let packed = match packed {
            Ok(packed) if packed.len() < bytes.len() => packed,
            // Incompressible (or an encoder error): the original is better.
            _ => return Response::from_parts(parts, full(bytes)),
        };
        mark(&mut parts.headers, encoding);
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(packed.len()));
        Response::from_parts(parts, full(packed))
    }

    /// Compresses a streamed body as it flows; its length is unknown in
    /// advance, so it goes out chunked (HTTP/1.1) without `Content-Length`.
    fn stream(
        &self,
        encoding: Option<Encoding>,
        mut parts: Parts,
        stream: UnsyncBoxBody<Bytes, std::io::Error>,
    ) -> Response<Body> {
        let length = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        if length.is_some_and(|n: usize| n < self.threshold) {
            return Response::from_parts(parts, Either::Right(stream));
        }
        add_vary(&mut parts.headers, "Accept-Encoding");
        let Some(encoding) = encoding else {
            return Response::from_parts(parts, Either::Right(stream));
        };
        mark(&mut parts.headers, encoding);
        parts.headers.remove(CONTENT_LENGTH);
        let level = match encoding {
            Encoding::Gzip => self.gzip_level,
            Encoding::Brotli => self.brotli_quality,
        };
        // A stream JavaScript is still writing (SSE, logs) is flushed after
        // every chunk: compression never holds an event back.
        let live = parts.extensions.get::<LiveStream>().is_some();
        let compressing = Compressing::new(stream, encoding, level).flush_each_chunk(live);
        Response::from_parts(parts, streamed(compressing))
    }
}

/// Labels a compressed response. Byte ranges of the original do not apply
/// to the compressed bytes, and a strong validator names exact bytes.
fn mark(headers: &mut HeaderMap, encoding: Encoding) {
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
    headers.remove(ACCEPT_RANGES);
    weaken_etag(headers);
}

/// The bytes of an in-memory body. A `Full` yields its one frame on the
/// first poll, so no runtime is needed.
fn take_bytes(mut whole: Full<Bytes>) -> Bytes {
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(&mut whole).poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

/// The compressed body is other bytes than the strong validator names, so
/// it becomes weak (as nginx does).
fn weaken_etag(headers: &mut HeaderMap) {
    let Some(tag) = headers.get(ETAG) else { return };
    if tag.as_bytes().starts_with(b"W/") {
        return;
    }
    let mut weak = b"W/".to_vec();
    weak.extend_from_slice(tag.as_bytes());
    if let Ok(weak) = HeaderValue::from_bytes(&weak) {
        headers.insert(ETAG, weak);
    }
}

fn gzip(bytes: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let out = Vec::with_capacity(bytes.len() / 3 + 64);
    let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::new(level));
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn brotli(bytes: &[u8], quality: u32) -> std::io::Result<Vec<u8>> {
    // A window no larger than the body keeps small responses from
    // allocating brotli's 4 MiB default ring buffer.
    let bits = usize::BITS - bytes.len().max(1).leading_zeros();
    let params = brotli::enc::BrotliEncoderParams {
        quality: quality as i32,
        lgwin: bits.clamp(10, 22) as i32,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(bytes.len() / 3 + 64);
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::CONTENT_TYPE;
    use std::io::Read;

    fn compress() -> Compress {
        let config =
            r#"{"threshold":16,"encodings":["br","gzip"],"gzipLevel":6,"brotliQuality":4}"#;
        Compress::new(&serde_json::from_str(config).unwrap()).unwrap()
    }

    fn text(body: &str) -> Response<Body> {
        let mut response = Response::new(full(body.to_string()));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
    }

    #[test]
    fn bodies_round_trip_and_small_ones_stay_plain() {
        let body = "hello compression ".repeat(100);
        let c = compress();
        let gz = c.on_response(Some(Encoding::Gzip), false, text(&body));
        assert_eq!(gz.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(gz.headers()["vary"], "Accept-Encoding");
        let packed = take_bytes(match gz.into_body() {
            Either::Left(whole) => whole,
            Either::Right(_) => unreachable!(),
        });
        let mut round = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut round)
            .unwrap();
        assert_eq!(round, body);
        let br = c.on_response(Some(Encoding::Brotli), false, text(&body));
        let packed = take_bytes(match br.into_body() {
            Either::Left(whole) => whole,
            Either::Right(_) => unreachable!(),
        });
        let mut round = String::new();
        brotli::Decompressor::new(&packed[..], 4096)
            .read_to_string(&mut round)
            .unwrap();
        assert_eq!(round, body);
        let small = c.on_response(Some(Encoding::Gzip), false, text("tiny"));
        assert!(small.headers().get(CONTENT_ENCODING).is_none());
        let head = c.on_response(Some(Encoding::Gzip), true, text(&body));
        assert!(head.headers().get(CONTENT_ENCODING).is_none());
    }
}
