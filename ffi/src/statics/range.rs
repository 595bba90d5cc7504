//! The `Range` header parser (RFC 9110 §14.2): one byte range, including
//! suffix ranges. Multiple ranges and invalid syntax are ignored (the whole
//! file is sent), which the RFC allows; only a valid range that misses the
//! file is unsatisfiable (416).

/// What to send for a `Range` header against a file of a known length.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(super) enum Ranged {
    /// Ignore the header: 200 with the whole file.
    Whole,
    /// 206 with bytes `start..=end`.
    Part {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// Parses `header` for a representation of `len` bytes.
pub(super) fn parse(header: &str, len: u64) -> Ranged {
    let header = header.trim();
    let Some((unit, spec)) = header.split_once('=') else {
        return Ranged::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ranged::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // Suffix range: the last `n` bytes.
        let Some(n) = number(last) else {
            return Ranged::Whole;
        };
        return match n {
            Some(0) => Ranged::Unsatisfiable,
            _ if len == 0 => Ranged::Unsatisfiable,
            Some(n) => Ranged::Part {
                start: len.saturating_sub(n),
                end: len - 1,
            },
            None => Ranged::Part {
                start: 0,
                end: len - 1,
            }, // more than u64 bytes: all of it
        };
    }
    let Some(start) = number(first) else {
        return Ranged::Whole;
    };
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(end) => Some(end.unwrap_or(u64::MAX)),
            None => return Ranged::Whole,
        }
    };
    let Some(start) = start else {
        return Ranged::Unsatisfiable;
    }; // beyond u64: beyond the file
    if end.is_some_and(|end| end < start) {
        return Ranged::Whole; // syntactically invalid: ignored
    }
    if start >= len {
        return Ranged::Unsatisfiable;
    }
    Ranged::Part {
        start,
        end: end.map_or(len - 1, |end| end.min(len - 1)),
    }
}

/// Digits only. `None`: not a number; `Some(None)`: too large for u64.
fn number(text: &str) -> Option<Option<u64>> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ranged::*;

    #[test]
    fn single_ranges() {
        assert_eq!(parse("bytes=0-9", 100), Part { start: 0, end: 9 });
        assert_eq!(parse("bytes=10-", 100), Part { start: 10, end: 99 });
        assert_eq!(parse("bytes=90-200", 100), Part { start: 90, end: 99 });
        assert_eq!(parse(" Bytes = 5 - 5 ", 100), Part { start: 5, end: 5 });
        assert_eq!(parse("bytes=99-99", 100), Part { start: 99, end: 99 });
        assert_eq!(
            parse("bytes=0-99999999999999999999999", 100),
            Part { start: 0, end: 99 }
        );
    }

    #[test]
    fn suffix_ranges() {
        assert_eq!(parse("bytes=-10", 100), Part { start: 90, end: 99 });
        assert_eq!(parse("bytes=-500", 100), Part { start: 0, end: 99 });
        assert_eq!(parse("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse("bytes=-5", 0), Unsatisfiable);
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(parse("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(parse("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(parse("bytes=99999999999999999999999-", 100), Unsatisfiable);
    }

    #[test]
    fn odd_headers_are_ignored() {
        for header in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=5-1",
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=+1-2",
            "bytes=1-2-3",
            "bytes=0x1-2",
        ] {
            assert_eq!(parse(header, 100), Whole, "{header:?}");
        }
    }
}
