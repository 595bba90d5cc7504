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

/// The buffer and where it goes.
struct Sink {
    stream: Stream,
    buffer: Mutex<Vec<u8>>,
}

impl Sink {
    fn flush(&self) {
        let lines = std::mem::take(&mut *self.buffer.lock());
        if lines.is_empty() {
            return;
        }
        // A log that cannot be written must not fail the request: dropped.
        let _ = match self.stream {
            Stream::Stderr => std::io::stderr().lock().write_all(&lines),
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&lines).and_then(|()| out.flush())
            }
        };
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
            buffer: Mutex::new(Vec::with_capacity(FLUSH_BYTES)),
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
        let ms = started.at.elapsed().as_secs_f64() * 1000.0;
        let id = id.and_then(|v| v.to_str().ok());
        let path = started.uri.path();
        // Formatted straight into the shared buffer: no string per field
        // (each allocation showed as CPU per request on `plaintext`).
        let full = {
            let mut buffer = self.sink.buffer.lock();
            let out = &mut *buffer;
            if let Format::Json = self.format {
                out.extend_from_slice(b"{\"time\":\"");
            }
            write_time(out, SystemTime::now());
            let _ = match self.format {
                Format::Text => {
                    let _ = write!(out, " {} {path} {} ", started.method, status.as_u16());
                    let _ = match bytes {
                        Some(b) => write!(out, "{b}B"),
                        None => write!(out, "-"),
                    };
                    let _ = write!(out, " {ms:.3}ms");
                    if let Some(id) = id {
                        let _ = write!(out, " id={id}");
                    }
                    writeln!(out)
                }
                Format::Json => {
                    // Written by hand to keep the fields in this order.
                    let quote = |s: &str| serde_json::Value::from(s).to_string();
                    let _ = write!(
                        out,
                        "\",\"method\":{},\"path\":{},\"status\":{},\"bytes\":",
                        quote(started.method.as_str()),
                        quote(path),
                        status.as_u16(),
                    );
                    let _ = match bytes {
                        Some(b) => write!(out, "{b}"),
                        None => write!(out, "null"),
                    };
                    let _ = write!(out, ",\"ms\":{ms:.3},\"id\":");
                    let _ = match id {
                        Some(id) => write!(out, "{}", quote(id)),
                        None => write!(out, "null"),
                    };
                    writeln!(out, "}}")
                }
            };
            buffer.len() >= FLUSH_BYTES
        };
        if full {
            self.sink.flush();
        }
    }
}

impl Logger {
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

/// `2026-01-02T03:04:05.678Z` (UTC), without a date crate (tests).
#[cfg(test)]
fn rfc3339(now: SystemTime) -> String {
    let mut out = Vec::with_capacity(24);
    write_time(&mut out, now);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `now` as RFC 3339 (UTC, milliseconds) into `out`.
fn write_time(out: &mut Vec<u8>, now: SystemTime) {
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
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
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    );
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
            let buffered = String::from_utf8(logger.sink.buffer.lock().clone()).unwrap();
            assert!(buffered.contains(want), "{buffered}");
            assert!(buffered.contains("abc") && buffered.ends_with('\n'));
            logger.sink.buffer.lock().clear();
        }
    }
}
