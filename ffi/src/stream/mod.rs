//! Streamed responses from JavaScript: the body a handler keeps writing
//! after its head went out (a `ReadableStream`, `c.stream()`, `c.sse()`).
//!
//! Chunks arrive in the batched commit (`layout::op::CHUNK` entries, bytes
//! copied out of the slot's response area), or, when larger than that area,
//! through one `ferry_stream_write` call. They wait here until hyper polls
//! the body. Backpressure is a credit JavaScript keeps: once it has sent
//! `highWaterMark` bytes it marks its next entry `op::WAIT` and stops; the
//! body raises a *writable* event when it has handed every buffered byte to
//! hyper, and JavaScript's credit starts again. So at most about one
//! high-water mark plus one chunk waits here per stream.
//!
//! The body holds the slot (`Slots::body_done` on drop): a client that
//! leaves mid-stream drops the body, JavaScript gets a cancel event and
//! releases the slot, and its stream is cancelled.

pub(crate) mod body_in;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use parking_lot::Mutex;

use crate::slots::Slots;

/// What JavaScript has sent for one stream and hyper has not taken yet.
#[derive(Default)]
struct Pending {
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    buffered: usize,
    /// JavaScript sent its last chunk.
    ended: bool,
    /// The stream failed mid-way: end the transfer as failed.
    aborted: bool,
    /// JavaScript waits for a writable event (it sent `op::WAIT`).
    wants_writable: bool,
    /// The task polling the body, parked until a chunk arrives.
    waker: Option<Waker>,
}

/// The Rust side of one streamed response, shared by the slot (which routes
/// JavaScript's chunks to it) and the response body hyper polls.
#[derive(Default)]
pub(crate) struct StreamState {
    pending: Mutex<Pending>,
}

/// The stream bodies a commit fed, woken together once it is done. Inside
/// the runtime (the pump engine's `ferry_pump`) a wake is a push on the
/// local run queue; from outside (`ferry_commit` while `ferry_wait` drives
/// the runtime on a helper thread, or the thread engine) each wake would
/// cost an eventfd write, so the batch goes to the relay task: one
/// cross-thread wake per commit instead of one per stream (an SSE fan-out
/// commits hundreds of streams at once).
#[derive(Default)]
pub(crate) struct Wakes(Vec<Waker>);

impl Wakes {
    /// Adds the body of `stream` if it waits for what was just sent.
    pub(crate) fn add(&mut self, stream: &StreamState) {
        if let Some(waker) = stream.waker() {
            self.0.push(waker);
        }
    }

    /// Wakes them all now (the caller runs inside the runtime).
    pub(crate) fn wake(self) {
        for waker in self.0 {
            waker.wake();
        }
    }
}

/// Wakes stream bodies on the runtime's own thread for commits made from
/// outside it (`Wakes`). `run` is spawned once per server.
#[derive(Default)]
pub(crate) struct WakeRelay {
    pending: Mutex<Vec<Waker>>,
    notify: tokio::sync::Notify,
}

impl WakeRelay {
    /// Hands a batch over: only the first batch since the relay last ran
    /// notifies it.
    pub(crate) fn hand(&self, wakes: Wakes) {
        if wakes.0.is_empty() {
            return;
        }
        let first = {
            let mut pending = self.pending.lock();
            let first = pending.is_empty();
            pending.extend(wakes.0);
            first
        };
        if first {
            self.notify.notify_one();
        }
    }

    /// The relay task: wakes each batch from inside the runtime.
    pub(crate) async fn run(self: Arc<Self>) {
        loop {
            self.notify.notified().await;
            let batch = std::mem::take(&mut *self.pending.lock());
            for waker in batch {
                waker.wake();
            }
        }
    }
}

/// What a writable check found.
pub(crate) enum Writable {
    /// Everything sent was taken: raise the event now.
    Now,
    /// Bytes are still buffered: the body raises it when they are taken.
    Later,
}

impl StreamState {
    /// Queues a chunk from JavaScript. The body is not woken here: the
    /// commit collects `waker()` of every stream it touched and wakes them
    /// together (`Wakes`).
    pub(crate) fn push(&self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        let mut p = self.pending.lock();
        if p.ended || p.aborted {
            return;
        }
        p.buffered += chunk.len();
        p.chunks.push_back(chunk);
    }

    /// JavaScript sent its last chunk (`aborted`: the stream failed).
    pub(crate) fn finish(&self, aborted: bool) {
        let mut p = self.pending.lock();
        if aborted {
            p.aborted = true;
        } else {
            p.ended = true;
        }
    }

    /// The parked body's waker, when it has something to take (a chunk,
    /// the end): what a commit wakes after it touched this stream.
    pub(crate) fn waker(&self) -> Option<Waker> {
        let mut p = self.pending.lock();
        if p.chunks.is_empty() && !p.ended && !p.aborted {
            return None;
        }
        p.waker.take()
    }

    /// JavaScript ran out of credit: asks to be told once every buffered
    /// byte was handed to hyper.
    pub(crate) fn want_writable(&self) -> Writable {
        let mut p = self.pending.lock();
        if p.buffered == 0 {
            Writable::Now
        } else {
            p.wants_writable = true;
            Writable::Later
        }
    }
}

/// The response body of a streamed answer.
pub(crate) struct StreamBody {
    state: Arc<StreamState>,
    slots: Arc<Slots>,
    slot: u32,
    generation: u32,
    done: bool,
}

impl StreamBody {
    /// The body of slot `(slot, generation)`'s stream; it holds the slot
    /// (the caller has added the body as a holder) until dropped.
    pub(crate) fn new(
        state: Arc<StreamState>,
        slots: Arc<Slots>,
        slot: u32,
        generation: u32,
    ) -> StreamBody {
        slots.counters.streams_open.fetch_add(1, Ordering::Relaxed);
        StreamBody {
            state,
            slots,
            slot,
            generation,
            done: false,
        }
    }
}

impl HttpBody for StreamBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        let mut writable = false;
        let polled = {
            let mut p = this.state.pending.lock();
            if let Some(chunk) = p.chunks.pop_front() {
                p.buffered -= chunk.len();
                if p.buffered == 0 && p.wants_writable {
                    p.wants_writable = false;
                    writable = true;
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            } else if p.aborted {
                this.done = true;
                // hyper ends the transfer as failed: no last chunk over
                // HTTP/1.1, RST_STREAM over HTTP/2.
                Poll::Ready(Some(Err(std::io::Error::other(
                    "the response stream failed",
                ))))
            } else if p.ended {
                this.done = true;
                Poll::Ready(None)
            } else {
                if !p.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    p.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        };
        if writable {
            this.slots.writable(this.slot, this.generation);
        }
        if let Poll::Ready(Some(Ok(_))) = &polled {
            this.slots
                .counters
                .chunks_out
                .fetch_add(1, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

impl Drop for StreamBody {
    fn drop(&mut self) {
        self.slots
            .counters
            .streams_open
            .fetch_sub(1, Ordering::Relaxed);
        // Finished, failed or cut off (client gone): the body lets go of
        // the slot; if JavaScript still streams into it, it is told.
        self.slots.body_done(self.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn chunks_flow_in_order_and_writable_fires_when_drained() {
        let slots = Arc::new(Slots::new(2, 128, 64));
        let id = slots.acquire().unwrap();
        assert!(slots.begin_waiting(id));
        slots.publish(id);
        let state = Arc::new(StreamState::default());
        let generation = slots.cell(id).generation.load(Ordering::Relaxed);
        slots.attach_body(id);
        let mut body = StreamBody::new(state.clone(), slots.clone(), id, generation);
        state.push(Bytes::from_static(b"one "));
        state.push(Bytes::from_static(b"two"));
        assert!(state.waker().is_none(), "no body polled yet");
        assert!(matches!(state.want_writable(), Writable::Later));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let first = rt.block_on(body.frame()).unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "one ");
        let second = rt.block_on(body.frame()).unwrap().unwrap();
        assert_eq!(second.into_data().unwrap(), "two");
        assert!(matches!(state.want_writable(), Writable::Now));
        state.finish(false);
        assert!(rt.block_on(body.frame()).is_none());
        assert_eq!(slots.counters.streams_open.load(Ordering::Relaxed), 1);
        drop(body);
        assert_eq!(slots.counters.streams_open.load(Ordering::Relaxed), 0);
    }
}
