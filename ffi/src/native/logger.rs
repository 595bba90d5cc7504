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
//! also gives the time of day: `text.rs`).

use std::io::Write;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use http::{HeaderValue, Method, StatusCode};
use parking_lot::Mutex;
use serde::Deserialize;

mod text;

use text::{push_digits, push_json, push_ms, WallClock};

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

#[cfg(test)]
mod tests {
    use super::*;

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
