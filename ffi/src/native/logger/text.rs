//! The line's numbers and time of day, written by hand: `core::fmt` and
//! three clock reads were most of the access log's cost per request on
//! `plaintext` (docs/composition.md, "Access log").

use std::time::{Duration, Instant, SystemTime};

/// Longest the time of day is derived from the monotonic clock before the
/// wall clock is read again (so a step of the wall clock shows within it).
const ANCHOR_EVERY: Duration = Duration::from_secs(1);

/// The time of day of an `Instant`, at no clock read: the wall clock and
/// the monotonic clock read together at most `ANCHOR_EVERY` ago, and the
/// `YYYY-MM-DDTHH:MM:SS` text of the last second stamped.
pub(super) struct WallClock {
    /// When the wall clock was last read, on the monotonic clock.
    at: Instant,
    /// Milliseconds since the Unix epoch at `at`.
    unix_ms: u64,
    /// The second (since the epoch) `text` spells.
    second: u64,
    text: [u8; 19],
}

impl WallClock {
    pub(super) fn new() -> WallClock {
        let mut clock = WallClock {
            at: Instant::now(),
            unix_ms: unix_ms(SystemTime::now()),
            second: 0,
            text: [0; 19],
        };
        clock.set_second(clock.unix_ms / 1000);
        clock
    }

    /// Writes `now` as RFC 3339 (UTC, milliseconds): `…T03:04:05.678Z`.
    pub(super) fn write(&mut self, out: &mut Vec<u8>, now: Instant) {
        // An `Instant` taken just before another thread moved the anchor
        // is stamped at the anchor: at most a few microseconds early.
        let mut since = now.saturating_duration_since(self.at);
        if since >= ANCHOR_EVERY {
            self.at = now;
            self.unix_ms = unix_ms(SystemTime::now());
            since = Duration::ZERO;
        }
        // As `as_millis()`, without 128-bit division.
        let ms = self.unix_ms + since.as_secs() * 1000 + u64::from(since.subsec_millis());
        if ms / 1000 != self.second {
            self.set_second(ms / 1000);
        }
        out.extend_from_slice(&self.text);
        out.push(b'.');
        push_digits(out, ms % 1000, 3);
        out.push(b'Z');
    }

    /// Formats `YYYY-MM-DDTHH:MM:SS` of `second` (since the epoch, UTC).
    fn set_second(&mut self, second: u64) {
        let (days, rest) = (second / 86_400, second % 86_400);
        // Howard Hinnant's civil_from_days.
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let mut text = Vec::with_capacity(19);
        push_digits(&mut text, year.clamp(0, 9999) as u64, 4);
        text.push(b'-');
        push_digits(&mut text, month as u64, 2);
        text.push(b'-');
        push_digits(&mut text, day as u64, 2);
        text.push(b'T');
        push_digits(&mut text, rest / 3600, 2);
        text.push(b':');
        push_digits(&mut text, rest % 3600 / 60, 2);
        text.push(b':');
        push_digits(&mut text, rest % 60, 2);
        self.text.copy_from_slice(&text);
        self.second = second;
    }
}

/// Milliseconds since the Unix epoch (0 before it).
fn unix_ms(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// Writes `n` in decimal, zero-padded to at least `width` digits.
pub(super) fn push_digits(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    while n > 0 || at == digits.len() {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let at = at.min(digits.len() - width.min(digits.len()));
    out.extend_from_slice(&digits[at..]);
}

/// Writes a duration as milliseconds with three decimals (`0.250`),
/// rounded to the microsecond.
pub(super) fn push_ms(out: &mut Vec<u8>, took: Duration) {
    // As `(as_nanos() + 500) / 1000`, without 128-bit division.
    let micros = took.as_secs() * 1_000_000 + u64::from(took.subsec_nanos() + 500) / 1000;
    push_digits(out, micros / 1000, 1);
    out.push(b'.');
    push_digits(out, micros % 1000, 3);
}

/// Writes `text` as a JSON string (quoted and escaped, as serde_json does).
pub(super) fn push_json(out: &mut Vec<u8>, text: &str) {
    // Writing to a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// `2026-01-02T03:04:05.678Z` (UTC) of a wall-clock time (tests).
#[cfg(test)]
fn rfc3339(now: SystemTime) -> String {
    let mut clock = WallClock::new();
    let at = clock.at;
    clock.unix_ms = unix_ms(now);
    let mut out = Vec::with_capacity(24);
    clock.write(&mut out, at);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        let at = |s: u64, ms: u64| {
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_780_000_000, 123), "2026-05-28T20:26:40.123Z");
        assert_eq!(at(1_780_000_059, 999), "2026-05-28T20:27:39.999Z");
    }

    #[test]
    fn the_clock_follows_the_instant_and_turns_the_second() {
        let mut clock = WallClock::new();
        let at = clock.at;
        clock.unix_ms = 1_780_000_000_998;
        let stamp = |clock: &mut WallClock, later: u64| {
            let mut out = Vec::new();
            clock.write(&mut out, at + Duration::from_millis(later));
            String::from_utf8(out).unwrap()
        };
        assert_eq!(stamp(&mut clock, 0), "2026-05-28T20:26:40.998Z");
        assert_eq!(stamp(&mut clock, 3), "2026-05-28T20:26:41.001Z");
        // Past the anchor's life the wall clock is read again.
        let now = stamp(&mut clock, 5_000);
        assert!(
            now.starts_with("20") && !now.starts_with("2026-05-28T20:26:4"),
            "{now}"
        );
    }

    #[test]
    fn numbers_are_written_as_fmt_would() {
        let text = |n: u64, width: usize| {
            let mut out = Vec::new();
            push_digits(&mut out, n, width);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(0, 1), "0");
        assert_eq!(text(7, 3), "007");
        assert_eq!(text(1234, 3), "1234");
        assert_eq!(text(u64::MAX, 1), u64::MAX.to_string());
        let ms = |nanos: u64| {
            let mut out = Vec::new();
            push_ms(&mut out, Duration::from_nanos(nanos));
            String::from_utf8(out).unwrap()
        };
        for nanos in [0, 250_000, 1_234_567, 999_999_999, 12_345_678_901] {
            let want = format!("{:.3}", nanos as f64 / 1e6);
            assert_eq!(ms(nanos), want, "{nanos}");
        }
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_does() {
        for text in ["/a", "q\"uote\\", "tab\tnl\n\u{1}", "é✓"] {
            let mut out = Vec::new();
            push_json(&mut out, text);
            assert_eq!(out, serde_json::Value::from(text).to_string().into_bytes());
        }
    }
}
