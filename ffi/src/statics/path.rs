//! The path sanitiser: turns the raw (percent-encoded) rest of a request
//! path into plain file-name segments, or refuses it.
//!
//! Segments are split on the *raw* `/` first and decoded one by one, so an
//! encoded `%2f` can never create a new segment; a segment that decodes to
//! `.`, `..`, or contains `/`, `\`, NUL, or is not UTF-8 refuses the whole
//! request. Refusals are answered 404 by the caller, exactly like a missing
//! file, so probing learns nothing about the tree outside the mount.

use percent_encoding::percent_decode_str;

/// A request path that is safe to join under a mount's root.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Clean {
    /// Decoded file-name segments, none empty, `.`, `..` or hidden (unless
    /// dotfiles are allowed).
    pub(super) segments: Vec<String>,
    /// The raw segments (still percent-encoded), to build a redirect
    /// `Location` that names the same file.
    pub(super) raw: Vec<String>,
    /// The path ended in `/`: a directory was asked for. The mount itself
    /// without its slash (`rest == ""`) is not, so it gets redirected.
    pub(super) dir: bool,
}

/// Cleans `rest`, the raw path after the mount prefix (`""` or starting
/// with `/`). `None` means refuse: traversal, forbidden bytes, or a hidden
/// segment when `dotfiles` is false.
pub(super) fn clean(rest: &str, dotfiles: bool) -> Option<Clean> {
    let mut segments = Vec::new();
    let mut raw = Vec::new();
    for part in rest.split('/') {
        // Empty segments (`//`) are skipped, as a file system would.
        if part.is_empty() {
            continue;
        }
        let decoded = percent_decode_str(part).decode_utf8().ok()?;
        if !allowed(&decoded, dotfiles) {
            return None;
        }
        segments.push(decoded.into_owned());
        raw.push(part.to_owned());
    }
    Some(Clean {
        segments,
        raw,
        dir: rest.ends_with('/'),
    })
}

fn allowed(segment: &str, dotfiles: bool) -> bool {
    if segment == "." || segment == ".." {
        return false;
    }
    if segment.bytes().any(|b| b == b'/' || b == b'\\' || b == 0) {
        return false;
    }
    dotfiles || !segment.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(rest: &str) -> Option<Vec<String>> {
        clean(rest, false).map(|c| c.segments)
    }

    #[test]
    fn plain_paths_are_kept() {
        assert_eq!(segs("/a/b.txt"), Some(vec!["a".into(), "b.txt".into()]));
        assert_eq!(segs("//a///b"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(segs("/sp%20ace.txt"), Some(vec!["sp ace.txt".into()]));
        assert_eq!(segs("/caf%C3%A9"), Some(vec!["café".into()]));
        assert_eq!(segs("/a..b"), Some(vec!["a..b".into()]));
    }

    #[test]
    fn directories_are_marked() {
        assert!(!clean("", false).unwrap().dir);
        assert!(clean("/", false).unwrap().dir);
        assert!(clean("/sub/", false).unwrap().dir);
        assert!(!clean("/sub", false).unwrap().dir);
    }

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "/..",
            "/../x",
            "/a/../../x",
            "/.",
            "/%2e%2e/x",
            "/%2E%2E/x",
            "/.%2e/x",
            "/%2e./x",
            "/a%2f..%2f..%2fx",
            "/a%2F..",
            "/..%5cx",
            "/a\\..\\x",
            "/a%00.txt",
            "/%c0%ae%c0%ae/x",
            "/%ff",
        ] {
            assert_eq!(segs(bad), None, "{bad}");
        }
    }

    #[test]
    fn dotfiles_follow_the_option() {
        assert_eq!(segs("/.env"), None);
        assert_eq!(segs("/.git/config"), None);
        assert_eq!(segs("/%2eenv"), None);
        let allowed = clean("/.well-known/x", true).unwrap();
        assert_eq!(
            allowed.segments,
            vec![".well-known".to_string(), "x".to_string()]
        );
        assert_eq!(clean("/../x", true), None);
    }

    #[test]
    fn raw_segments_are_kept_for_redirects() {
        let c = clean("//a%20b//c", false).unwrap();
        assert_eq!(c.raw, vec!["a%20b".to_string(), "c".to_string()]);
    }
}
