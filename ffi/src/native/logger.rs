//! `logger()`: one access-log line per request, written by Rust, with no
//! crossing: method, path, status, body bytes, duration and request id, as
//! text or JSON, to stderr or stdout. Every answer gets one, whoever made
//! it (handlers, const routes, static files, 404s, preflights, 429s).
//!
//! Lines go to a buffer behind a mutex, not to the stream: a write
//! syscall per request would cost more than the rest of a native answer.
//! The buffer is written out when it passes `FLUSH_BYTES`, by a small
//! thread every `FLUSH_EVERY` (so a quiet server's last lines still show),
//! and when the server is dropped.
//!
//! A line is formatted by hand into that buffer: no `fmt` machinery, no
//! allocation, and one clock read (the `Instant` that ends the duration
//! also gives the time of day, see [`WallClock`]). `core::fmt` and three
//! clock reads were most of the log's cost per request on `plaintext`
//! (docs/composition.md, "Access log").

use std::io::Write;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderValue, Method, StatusCode};
use parking_lot::Mutex;
use serde::Deserialize;

/// Buffered bytes that trigger a write.
const FLUSH_BYTES: usize = 32 * 1024;
/// Longest a line waits in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Longest the time of day is derived from the monotonic clock before the
/// wall clock is read again (so a step of the wall clock shows within it).
const ANCHOR_EVERY: Duration = Duration::from_secs(1);

/// Line format.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// `2026-01-02T03:04:05.678Z GET /path 200 12B 0.250ms id=…`
    Text,
    /// One JSON object per line.
    Json,
}

/// Where lines go.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Stream {
    Stderr,
    Stdout,
}

/// `logger()` settings; `lib/native.ts` documents the defaults.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoggerConfig {
    format: Format,
    stream: Stream,
}

/// What `on_request` remembers for the line.
pub(crate) struct Started {
    method: Method,
    /// The request's URI: cloning it bumps reference counts, where copying
    /// the path allocated per request.
    uri: http::Uri,
    at: Instant,
}

/// The time of day of an `Instant`, at no clock read: the wall clock and
/// the monotonic clock read together at most `ANCHOR_EVERY` ago, and the
/// `YYYY-MM-DDTHH:MM:SS` text of the last second stamped.
struct WallClock {
    /// When the wall clock was last read, on the monotonic clock.
    at: Instant,
    /// Milliseconds since the Unix epoch at `at`.
    unix_ms: u64,
    /// The second (since the epoch) `text` spells.
    second: u64,
    text: [u8; 19],
}

impl WallClock {
    fn new() -> WallClock {
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
    fn write(&mut self, out: &mut Vec<u8>, now: Instant) {
        // An `Instant` taken just before another thread moved the anchor
        // is stamped at the anchor: at most a few microseconds early.
        let mut since = now.saturating_duration_since(self.at);
        if since >= ANCHOR_EVERY {
            self.at = now;
            self.unix_ms = unix_ms(SystemTime::now());
            since = Duration::ZERO;
        }
        let ms = self.unix_ms + since.as_millis() as u64;
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
fn push_digits(out: &mut Vec<u8>, mut n: u64, width: usize) {
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
fn push_ms(out: &mut Vec<u8>, took: Duration) {
    let micros = (took.as_nanos() + 500) / 1000;
    push_digits(out, (micros / 1000) as u64, 1);
    out.push(b'.');
    push_digits(out, (micros % 1000) as u64, 3);
}

/// Writes `text` as a JSON string (quoted and escaped, as serde_json does).
fn push_json(out: &mut Vec<u8>, text: &str) {
    // Writing to a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// The lines not yet written, and the clock that stamps them.
struct Lines {
    bytes: Vec<u8>,
    clock: WallClock,
}

/// The buffer and where it goes.
struct Sink {
    stream: Stream,
    lines: Mutex<Lines>,
    /// Held while a batch is written, so batches leave in order; between
    /// writes it keeps the emptied buffer, swapped in next time (no
    /// allocation per batch).
    writing: Mutex<Vec<u8>>,
}

impl Sink {
    /// Writes out the buffered lines, after any batch being written.
    fn flush(&self) {
        self.write_out(&mut self.writing.lock());
    }

    /// As `flush`, unless a batch is being written already (a request
    /// thread must not wait on the stream: its lines go with the next one).
    fn try_flush(&self) {
        if let Some(mut spare) = self.writing.try_lock() {
            self.write_out(&mut spare);
        }
    }

    fn write_out(&self, spare: &mut Vec<u8>) {
        {
            let mut lines = self.lines.lock();
            if lines.bytes.is_empty() {
                return;
            }
            std::mem::swap(&mut lines.bytes, spare);
        }
        // A log that cannot be written must not fail the request: dropped.
        let _ = match self.stream {
            Stream::Stderr => std::io::stderr().lock().write_all(spare),
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(spare).and_then(|()| out.flush())
            }
        };
        spare.clear();
    }
}

/// The access log of one server.
pub(crate) struct Logger {
    format: Format,
    sink: Arc<Sink>,
}

impl Logger {
    /// Starts the flushing thread; it ends once the logger is dropped.
    pub(crate) fn new(config: &LoggerConfig) -> Result<Logger, String> {
        let sink = Arc::new(Sink {
            stream: config.stream,
            lines: Mutex::new(Lines {
                bytes: Vec::with_capacity(FLUSH_BYTES),
                clock: WallClock::new(),
            }),
            writing: Mutex::new(Vec::with_capacity(FLUSH_BYTES)),
        });
        let weak: Weak<Sink> = Arc::downgrade(&sink);
        std::thread::Builder::new()
            .name("ferry-log".into())
            .spawn(move || loop {
                std::thread::sleep(FLUSH_EVERY);
                match weak.upgrade() {
                    Some(sink) => sink.flush(),
                    None => break,
                }
            })
            .map_err(|e| format!("logger: cannot start its thread: {e}"))?;
        Ok(Logger {
            format: config.format,
            sink,
        })
    }

    /// Notes the start of a request.
    pub(crate) fn start(method: &Method, uri: &http::Uri) -> Started {
        Started {
            method: method.clone(),
            uri: uri.clone(),
            at: Instant::now(),
        }
    }

    /// Writes the line of a request (bytes: `None` for a streamed body of
    /// unknown length).
    pub(crate) fn line(
        &self,
        started: &Started,
        status: StatusCode,
        bytes: Option<u64>,
        id: Option<&HeaderValue>,
    ) {
        let now = Instant::now();
        let took = now.saturating_duration_since(started.at);
        let id = id.and_then(|v| v.to_str().ok());
        let method = started.method.as_str();
        let path = started.uri.path();
        let status = u64::from(status.as_u16());
        let full = {
            let mut lines = self.sink.lines.lock();
            let Lines { bytes: out, clock } = &mut *lines;
            match self.format {
                Format::Text => {
                    clock.write(out, now);
                    out.push(b' ');
                    out.extend_from_slice(method.as_bytes());
                    out.push(b' ');
                    out.extend_from_slice(path.as_bytes());
                    out.push(b' ');
                    push_digits(out, status, 3);
                    out.push(b' ');
                    match bytes {
                        Some(b) => {
                            push_digits(out, b, 1);
                            out.push(b'B');
                        }
                        None => out.push(b'-'),
                    }
                    out.push(b' ');
                    push_ms(out, took);
                    out.extend_from_slice(b"ms");
                    if let Some(id) = id {
                        out.extend_from_slice(b" id=");
                        out.extend_from_slice(id.as_bytes());
                    }
                }
                Format::Json => {
                    // Written by hand to keep the fields in this order.
                    out.extend_from_slice(b"{\"time\":\"");
                    clock.write(out, now);
                    out.extend_from_slice(b"\",\"method\":");
                    push_json(out, method);
                    out.extend_from_slice(b",\"path\":");
                    push_json(out, path);
                    out.extend_from_slice(b",\"status\":");
                    push_digits(out, status, 1);
                    out.extend_from_slice(b",\"bytes\":");
                    match bytes {
                        Some(b) => push_digits(out, b, 1),
                        None => out.extend_from_slice(b"null"),
                    }
                    out.extend_from_slice(b",\"ms\":");
                    push_ms(out, took);
                    out.extend_from_slice(b",\"id\":");
                    match id {
                        Some(id) => push_json(out, id),
                        None => out.extend_from_slice(b"null"),
                    }
                    out.push(b'}');
                }
            }
            out.push(b'\n');
            out.len() >= FLUSH_BYTES
        };
        if full {
            self.sink.try_flush();
        }
    }

    /// Writes out the buffered lines now.
    pub(crate) fn flush(&self) {
        self.sink.flush();
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        self.sink.flush();
    }
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

    #[test]
    fn lines_are_buffered_in_both_formats() {
        for (format, want) in [
            (Format::Text, "GET /a 404 12B "),
            (
                Format::Json,
                r#""method":"GET","path":"/a","status":404,"bytes":12"#,
            ),
        ] {
            let logger = Logger::new(&LoggerConfig {
                format,
                stream: Stream::Stderr,
            })
            .unwrap();
            let started = Logger::start(&Method::GET, &"/a".parse().unwrap());
            let id = HeaderValue::from_static("abc");
            logger.line(&started, StatusCode::NOT_FOUND, Some(12), Some(&id));
            let buffered = String::from_utf8(logger.sink.lines.lock().bytes.clone()).unwrap();
            assert!(buffered.contains(want), "{buffered}");
            assert!(buffered.contains("abc") && buffered.ends_with('\n'));
            logger.sink.lines.lock().bytes.clear();
        }
    }
}
