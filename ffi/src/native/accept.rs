//! What `compress()` asks of a response: whether it is worth compressing
//! at all (its status, headers and content type). Which coding the client
//! accepts is read by `crate::accept_encoding`, shared with static files.

use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_RANGE, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};

/// Statuses whose body must not be compressed: no body (1xx, 204, 304) or
/// a byte range of the identity representation (206).
pub(super) fn skipped_status(status: StatusCode) -> bool {
    status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
        )
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
