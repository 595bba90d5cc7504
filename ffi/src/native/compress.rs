//! `compress()`: gzip or brotli, negotiated from `Accept-Encoding`, applied
//! to whole in-memory bodies (what TypeScript, const routes and errors
//! answer). Streamed bodies (static files) are sent as they are: a static
//! mount serves precompressed `.br`/`.gz` files itself, which beats
//! compressing the same file on every request.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{
    HeaderValue, ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_TYPE, ETAG,
};
use http::{HeaderMap, Response, StatusCode};
use http_body::Body as _;
use http_body_util::{Either, Full};
use serde::Deserialize;

use super::add_vary;
use crate::body::{full, Body};

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

/// A content coding Ferry can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `br`
    Brotli,
    /// `gzip`
    Gzip,
}

impl Encoding {
    fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
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

    /// Picks the coding for a request's `Accept-Encoding`, or `None`.
    pub(crate) fn negotiate(&self, headers: &HeaderMap) -> Option<Encoding> {
        let mut values = headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .peekable();
        values.peek()?;
        negotiate(values, &self.offered)
    }

    /// Compresses an eligible response for the negotiated coding and marks
    /// it `Vary: Accept-Encoding`; anything else passes through unchanged.
    pub(crate) fn on_response(
        &self,
        encoding: Option<Encoding>,
        head: bool,
        response: Response<Body>,
    ) -> Response<Body> {
        let status = response.status();
        if head
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || !eligible(response.headers())
        {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let bytes = match body {
            Either::Left(whole) => take_bytes(whole),
            streamed => return Response::from_parts(parts, streamed),
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
        let headers = &mut parts.headers;
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(packed.len()));
        // Byte ranges of the original do not apply to the compressed bytes.
        headers.remove(ACCEPT_RANGES);
        weaken_etag(headers);
        Response::from_parts(parts, full(packed))
    }
}

/// The coding with the highest q-value among `offered`; ties go to the
/// earlier entry of `offered`. `*` covers the codings not named.
fn negotiate<'a>(values: impl Iterator<Item = &'a str>, offered: &[Encoding]) -> Option<Encoding> {
    let (mut br, mut gzip, mut any) = (None::<f32>, None::<f32>, None::<f32>);
    for item in values.flat_map(|v| v.split(',')) {
        let mut fields = item.split(';');
        let coding = fields.next().unwrap_or("").trim();
        let mut q = 1.0;
        for param in fields {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                // A malformed q-value refuses the coding, the safe reading.
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
                    .unwrap_or(0.0);
            }
        }
        let slot = if coding.eq_ignore_ascii_case("br") {
            &mut br
        } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding == "*" {
            &mut any
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
    }
    let mut best: Option<(Encoding, f32)> = None;
    for &encoding in offered {
        let named = match encoding {
            Encoding::Brotli => br,
            Encoding::Gzip => gzip,
        };
        let q = named.or(any).unwrap_or(0.0);
        if q > 0.0 && best.is_none_or(|(_, top)| q > top) {
            best = Some((encoding, q));
        }
    }
    best.map(|(encoding, _)| encoding)
}

/// Whether the response may be compressed at all: no coding yet, no
/// `no-transform`, and a content type that is not already compressed.
fn eligible(headers: &HeaderMap) -> bool {
    if headers.contains_key(CONTENT_ENCODING) {
        return false;
    }
    let no_transform = headers.get_all(CACHE_CONTROL).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
        })
    });
    !no_transform
        && headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(compressible)
}

/// Content types worth compressing. Formats that are compressed already
/// (images but SVG, audio, video, archives, fonts in WOFF) are skipped, and
/// so are opaque bytes and event streams, which are sent as they come.
fn compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let media = essence.as_str();
    if media == "image/svg+xml" {
        return true;
    }
    let skipped_family = ["image/", "video/", "audio/"]
        .iter()
        .any(|p| media.starts_with(p));
    let skipped = matches!(
        media,
        "" | "application/octet-stream"
            | "application/zip"
            | "application/gzip"
            | "application/x-gzip"
            | "application/x-bzip2"
            | "application/x-xz"
            | "application/x-7z-compressed"
            | "application/x-rar-compressed"
            | "application/vnd.rar"
            | "application/zstd"
            | "application/pdf"
            | "font/woff"
            | "font/woff2"
            | "text/event-stream"
    );
    !(skipped_family || skipped || media.ends_with("+zip"))
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

/// A strong validator names exact bytes; the compressed body is other
/// bytes, so it becomes weak (as nginx does).
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
    use std::io::Read;

    const BOTH: [Encoding; 2] = [Encoding::Brotli, Encoding::Gzip];

    fn pick(header: &str) -> Option<Encoding> {
        negotiate(std::iter::once(header), &BOTH)
    }

    #[test]
    fn accept_encoding_prefers_br_then_follows_q_values() {
        assert_eq!(pick("gzip, deflate, br"), Some(Encoding::Brotli));
        assert_eq!(pick("gzip"), Some(Encoding::Gzip));
        assert_eq!(pick("br;q=0.5, gzip;q=0.8"), Some(Encoding::Gzip));
        assert_eq!(pick("br;q=0, gzip;q=0"), None);
        assert_eq!(pick("identity"), None);
        assert_eq!(pick(""), None);
        assert_eq!(pick("*"), Some(Encoding::Brotli));
        assert_eq!(pick("br;q=0, *;q=0.1"), Some(Encoding::Gzip));
        assert_eq!(pick("X-GZIP ; Q=0.3"), Some(Encoding::Gzip));
        assert_eq!(pick("br;q=bogus, gzip"), Some(Encoding::Gzip));
        assert_eq!(
            negotiate(["br", "gzip"].into_iter(), &[Encoding::Gzip]),
            Some(Encoding::Gzip)
        );
    }

    #[test]
    fn content_types_already_compressed_are_skipped() {
        assert!(compressible("text/html; charset=utf-8"));
        assert!(compressible("application/json"));
        assert!(compressible("image/svg+xml"));
        assert!(!compressible("image/png"));
        assert!(!compressible("application/zip"));
        assert!(!compressible("application/epub+zip"));
        assert!(!compressible("Video/MP4"));
    }

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
