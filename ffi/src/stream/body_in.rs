//! Streamed request bodies: a request whose body is still arriving is
//! handed to JavaScript at once (`req::FLAG_BODY_STREAM`), and its body
//! follows in chunks as the client sends it.
//!
//! A reader task moves frames from hyper into a window of at most
//! `WINDOW` bytes and stops reading when it is full, so a slow handler
//! slows the client (TCP or HTTP/2 flow control) instead of growing memory.
//! JavaScript asks for the next chunk with an `op::PULL` entry; the drain
//! answers with a *body* event and copies up to one response area of bytes
//! into the slot (`[length, flags]` words, then the bytes): chunks cross in
//! the batched pump, never one FFI call per chunk.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use hyper::body::{Body as _, Incoming};
use parking_lot::Mutex;

/// Bytes read ahead of JavaScript, per request.
pub(crate) const WINDOW: usize = 64 * 1024;

/// Flags of a body chunk in the response area.
pub(crate) mod chunk {
    /// The body ended after this chunk.
    pub(crate) const END: u32 = 1;
    /// The body failed (too large, too slow, client gone): no more bytes.
    pub(crate) const FAILED: u32 = 2;
    /// Bytes of the `[length, flags]` prefix.
    pub(crate) const PREFIX: usize = 8;
}

#[derive(Default)]
struct Inbox {
    chunks: VecDeque<Bytes>,
    buffered: usize,
    ended: bool,
    failed: bool,
    /// JavaScript asked for a chunk none was there for.
    wanted: bool,
    /// The reader, parked while the window is full.
    reader: Option<Waker>,
}

/// The body of one streamed request, between its reader and JavaScript.
#[derive(Default)]
pub(crate) struct BodyIn {
    inbox: Mutex<Inbox>,
}

/// What a pull or a new chunk calls for.
pub(crate) enum Deliver {
    /// A chunk (or the end) is there: raise a body event.
    Now,
    /// Nothing yet: the reader raises it when bytes arrive.
    Later,
}

impl BodyIn {
    /// JavaScript wants the next chunk.
    pub(crate) fn pull(&self) -> Deliver {
        let mut inbox = self.inbox.lock();
        if inbox.buffered > 0 || inbox.ended || inbox.failed {
            Deliver::Now
        } else {
            inbox.wanted = true;
            Deliver::Later
        }
    }

    /// Hands `out` the next chunk (at most `room - PREFIX` bytes) with its
    /// length and flags, and wakes the reader if the window has room again.
    pub(crate) fn take_into(&self, out: &mut dyn FnMut(u32, u32, &[u8]), room: usize) {
        let (data, flags, waker) = {
            let mut inbox = self.inbox.lock();
            let max = room.saturating_sub(chunk::PREFIX).max(1);
            let front_len = inbox.chunks.front().map_or(0, Bytes::len);
            let data = if front_len > max {
                inbox.chunks[0].split_to(max)
            } else {
                inbox.chunks.pop_front().unwrap_or_default()
            };
            inbox.buffered -= data.len();
            let mut flags = 0;
            if inbox.failed {
                flags |= chunk::FAILED;
            } else if inbox.ended && inbox.chunks.is_empty() {
                flags |= chunk::END;
            }
            (data, flags, inbox.reader.take())
        };
        out(data.len() as u32, flags, &data);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The bytes that arrived before the request was published.
    pub(crate) fn push_first(&self, data: Bytes) -> bool {
        self.push(data)
    }

    /// The reader stores a chunk; returns whether JavaScript waits for one.
    fn push(&self, data: Bytes) -> bool {
        let mut inbox = self.inbox.lock();
        inbox.buffered += data.len();
        inbox.chunks.push_back(data);
        std::mem::take(&mut inbox.wanted)
    }

    /// The body ended (`failed`: it cannot be read whole); returns whether
    /// JavaScript waits for news.
    fn close(&self, failed: bool) -> bool {
        let mut inbox = self.inbox.lock();
        if failed {
            inbox.failed = true;
            inbox.chunks.clear();
            inbox.buffered = 0;
        } else {
            inbox.ended = true;
        }
        std::mem::take(&mut inbox.wanted)
    }
}

/// Why a streamed body stopped early.
pub(crate) enum Failure {
    /// Past the route's body limit.
    TooLarge,
    /// No bytes for the body timeout.
    TooSlow,
    /// The client's bytes were not a valid body, or it left.
    Broken,
}

/// Reads `incoming` into `body` while the window has room; `wake(deliver)`
/// raises a body event when JavaScript waits. Resolves when the body ended
/// (`Ok`) or failed.
pub(crate) async fn read_into(
    mut incoming: Incoming,
    body: &BodyIn,
    mut seen: u64,
    limit: u64,
    idle: std::time::Duration,
    wake: impl Fn(),
) -> Result<(), Failure> {
    loop {
        let frame = tokio::time::timeout(idle, Next(&mut incoming, body)).await;
        let frame = match frame {
            Err(_) => Err(Failure::TooSlow),
            Ok(None) => Ok(None),
            Ok(Some(Ok(frame))) => Ok(Some(frame)),
            Ok(Some(Err(_))) => Err(Failure::Broken),
        };
        match frame {
            Ok(Some(frame)) => {
                let Ok(mut data) = frame.into_data() else {
                    continue; // trailers: not part of the body
                };
                seen += data.len() as u64;
                if seen > limit {
                    if body.close(true) {
                        wake();
                    }
                    return Err(Failure::TooLarge);
                }
                let data = data.copy_to_bytes(data.remaining());
                if !data.is_empty() && body.push(data) {
                    wake();
                }
            }
            Ok(None) => {
                if body.close(false) {
                    wake();
                }
                return Ok(());
            }
            Err(failure) => {
                if body.close(true) {
                    wake();
                }
                return Err(failure);
            }
        }
    }
}

/// The next frame, once the window has room (backpressure on the client).
struct Next<'a>(&'a mut Incoming, &'a BodyIn);

impl Future for Next<'_> {
    type Output = Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        {
            let mut inbox = self.1.inbox.lock();
            if inbox.buffered >= WINDOW {
                inbox.reader = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        Pin::new(&mut *self.0).poll_frame(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_split_to_the_area_and_flagged_at_the_end() {
        let body = BodyIn::default();
        assert!(matches!(body.pull(), Deliver::Later));
        assert!(
            body.push(Bytes::from(vec![7u8; 20])),
            "JavaScript was waiting"
        );
        body.close(false);
        let mut seen = Vec::new();
        let mut out = |len: u32, flags: u32, data: &[u8]| seen.push((len, flags, data.len()));
        body.take_into(&mut out, 8 + 12);
        body.take_into(&mut out, 8 + 12);
        assert_eq!(seen, vec![(12, 0, 12), (8, chunk::END, 8)]);
    }

    #[test]
    fn a_failed_body_drops_what_it_held() {
        let body = BodyIn::default();
        body.push(Bytes::from_static(b"abc"));
        body.close(true);
        let mut flags_seen = 0;
        body.take_into(
            &mut |_, flags, data| {
                assert!(data.is_empty());
                flags_seen = flags;
            },
            64,
        );
        assert_eq!(flags_seen, chunk::FAILED);
    }
}
