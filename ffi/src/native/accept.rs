//! What `compress()` asks of an exchange: which coding the client accepts
//! (`Accept-Encoding` with q-values) and whether a response is worth
//! compressing at all (its status, headers and content type).

use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_RANGE, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};

use super::compress::Encoding;

/// Statuses whose body must not be compressed: no body (1xx, 204, 304) or
/// a byte range of the identity representation (206).
pub(super) fn skipped_status(status: StatusCode) -> bool {
    status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
        )
}

/// The coding with the highest q-value among `offered`; ties go to the
/// earlier entry of `offered`. `*` covers the codings not named.
pub(super) fn negotiate<'a>(
    values: impl Iterator<Item = &'a str>,
    offered: &[Encoding],
) -> Option<Encoding> {
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

/// Whether the response may be compressed at all: no coding or range
/// yet, no `no-transform`, and a content type that is not already compressed.
pub(super) fn eligible(headers: &HeaderMap) -> bool {
    if headers.contains_key(CONTENT_ENCODING) || headers.contains_key(CONTENT_RANGE) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
