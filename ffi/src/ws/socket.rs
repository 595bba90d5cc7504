//! One WebSocket's I/O: a reader (frames in, through fastwebsockets) and a
//! writer (queued frames out, several per `write(2)`), joined in one task.
//! JavaScript never waits on either: messages reach it as events in the
//! next drain, and its sends are queued here by the commit.

mod reader;
mod writer;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use fastwebsockets::{Frame, OpCode, Payload};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Hub, Limits};
use crate::layout::ws::DRAIN;
use crate::server::Shared;
use reader::read_loop;
use writer::write_loop;

/// Held by the socket's I/O task.
pub(crate) const HELD_BY_TASK: u8 = 1;
/// Held by JavaScript, from its open event until it releases the socket.
pub(crate) const HELD_BY_JS: u8 = 2;

/// A reader that got this many bytes ahead of JavaScript stops reading
/// until the drain catches up: the client then slows down through TCP.
const INBOUND_LIMIT: usize = 1 << 20;

/// Frames waiting for the writer.
#[derive(Default)]
struct Outbox {
    frames: VecDeque<Bytes>,
    /// Bytes in `frames`, plus what the writer took and has not written.
    bytes: usize,
    /// A close frame is queued or sent: nothing else is queued after it.
    closing: bool,
    /// The connection is over (read side failed): the writer stops.
    done: bool,
}

/// What happened to a message handed to [`Socket::queue`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Queued for the writer.
    Sent,
    /// Not queued: the socket is closing, or past its backpressure limit
    /// with `dropOnBackpressure`.
    Dropped,
    /// Past the backpressure limit: the queue was dropped and the socket
    /// is closing with 1008.
    Overflowed,
}

/// One open WebSocket, shared by its task, the hub's table and the topics.
pub(crate) struct Socket {
    pub(crate) index: u32,
    pub(crate) generation: u32,
    pub(crate) limits: Limits,
    out: Mutex<Outbox>,
    wake_writer: Notify,
    /// Payload bytes queued for JavaScript and not yet drained.
    pub(crate) inbound: AtomicUsize,
    inbound_room: Notify,
    /// When a frame last arrived (ms since the server started).
    last_seen: AtomicU64,
    /// A server ping is out and unanswered.
    pinged: AtomicBool,
    /// When the sweep first saw the socket closing (0: not yet).
    pub(crate) closing_since: AtomicU64,
    /// JavaScript asked for a drain event once the queue empties.
    want_drain: AtomicBool,
    /// Ends both halves at once (abrupt close, close timeout, shutdown).
    pub(crate) cancel: CancellationToken,
    /// `HELD_BY_*` bits: the last holder frees the index.
    pub(crate) holders: AtomicU8,
    /// Topics this socket is subscribed to (removed when it closes).
    pub(crate) topics: Mutex<Vec<Box<[u8]>>>,
    /// The close frame answering the client's close, or failing the
    /// connection: queued when JavaScript releases the socket, after the
    /// sends its handlers made for the messages before it.
    deferred: Mutex<Option<Bytes>>,
}

/// A server frame (never masked): the head fastwebsockets formats, then the
/// payload, in one buffer so several frames go out in one write.
pub(crate) fn frame(opcode: OpCode, payload: &[u8]) -> Bytes {
    let mut head = [0u8; 16];
    let n = Frame::new(true, opcode, None, Payload::Borrowed(payload)).fmt_head(&mut head);
    let mut buf = BytesMut::with_capacity(n + payload.len());
    buf.extend_from_slice(&head[..n]);
    buf.extend_from_slice(payload);
    buf.freeze()
}

/// A close frame with `code` and `reason` (cut to the 123 bytes a control
/// frame has room for, at a character boundary).
pub(crate) fn close_frame(code: u16, reason: &[u8]) -> Bytes {
    let mut cut = reason.len().min(123);
    while cut > 0 && std::str::from_utf8(&reason[..cut]).is_err() {
        cut -= 1;
    }
    let mut payload = Vec::with_capacity(2 + cut);
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(&reason[..cut]);
    frame(OpCode::Close, &payload)
}

impl Socket {
    pub(crate) fn new(index: u32, generation: u32, limits: Limits, now_ms: u64) -> Socket {
        Socket {
            index,
            generation,
            limits,
            out: Mutex::new(Outbox::default()),
            wake_writer: Notify::new(),
            inbound: AtomicUsize::new(0),
            inbound_room: Notify::new(),
            last_seen: AtomicU64::new(now_ms),
            pinged: AtomicBool::new(false),
            closing_since: AtomicU64::new(0),
            want_drain: AtomicBool::new(false),
            cancel: CancellationToken::new(),
            holders: AtomicU8::new(HELD_BY_TASK | HELD_BY_JS),
            topics: Mutex::new(Vec::new()),
            deferred: Mutex::new(None),
        }
    }

    /// Queues a data frame (a send, or one delivery of a publish), within
    /// the backpressure limit. A message larger than the limit still goes
    /// when nothing else waits, so a socket is never stuck on one message.
    pub(crate) fn queue(&self, hub: &Hub, frame: Bytes) -> Queued {
        let mut out = self.out.lock();
        if out.closing || out.done {
            return Queued::Dropped;
        }
        if out.bytes > 0 && out.bytes + frame.len() > self.limits.backpressure {
            if self.limits.drop_on_backpressure {
                return Queued::Dropped;
            }
            // The client is not reading: what waits would never be read
            // either. Drop it and say why.
            let dropped: usize = out.frames.drain(..).map(|f| f.len()).sum();
            out.bytes -= dropped;
            out.closing = true;
            let close = close_frame(1008, b"backpressure limit reached");
            self.push(hub, out, close);
            return Queued::Overflowed;
        }
        self.push(hub, out, frame);
        Queued::Sent
    }

    /// Appends `frame` to the locked outbox, publishes the buffered amount
    /// and wakes the writer.
    fn push(&self, hub: &Hub, mut out: parking_lot::MutexGuard<'_, Outbox>, frame: Bytes) {
        out.bytes += frame.len();
        out.frames.push_back(frame);
        let bytes = out.bytes;
        drop(out);
        hub.area.set_buffered(self.index, bytes);
        self.wake_writer.notify_one();
    }

    /// Queues a close frame (once); nothing is queued after it.
    pub(crate) fn close(&self, hub: &Hub, code: u16, reason: &[u8]) {
        self.queue_control(hub, close_frame(code, reason), true);
    }

    /// Queues a ping (from JavaScript, or the idle sweep).
    pub(crate) fn ping(&self, hub: &Hub, payload: &[u8]) {
        let payload = &payload[..payload.len().min(125)];
        self.queue_control(hub, frame(OpCode::Ping, payload), false);
    }

    /// Control frames skip the backpressure limit (they are small, and a
    /// close must get out).
    fn queue_control(&self, hub: &Hub, frame: Bytes, closes: bool) {
        let mut out = self.out.lock();
        if out.closing || out.done {
            return;
        }
        out.closing = closes;
        self.push(hub, out, frame);
    }

    /// Asks for a drain event once everything queued is written.
    pub(crate) fn want_drain(&self, hub: &Hub) {
        let empty = self.out.lock().bytes == 0;
        if empty {
            hub.event(self, DRAIN, Bytes::new());
        } else {
            self.want_drain.store(true, Ordering::Release);
        }
    }

    /// For the idle sweep: whether a close is queued or waits, or the
    /// socket is over.
    pub(crate) fn is_closing(&self) -> bool {
        let out = self.out.lock();
        out.closing || out.done || self.deferred.lock().is_some()
    }

    /// Keeps the close frame the reader owes until JavaScript has handled
    /// every event before it (`release_deferred`), so replies to earlier
    /// messages go out first. Nothing to do if a close went out already.
    fn defer_close(&self, frame: Bytes) {
        if !self.out.lock().closing {
            *self.deferred.lock() = Some(frame);
        }
    }

    /// JavaScript released the socket: the deferred close goes out now.
    pub(crate) fn release_deferred(&self, hub: &Hub) {
        let frame = self.deferred.lock().take();
        if let Some(frame) = frame {
            self.queue_control(hub, frame, true);
        }
    }

    /// For the idle sweep: ms since the last frame, and whether a ping is out.
    pub(crate) fn silence(&self, now_ms: u64) -> (u64, bool) {
        let seen = self.last_seen.load(Ordering::Relaxed);
        (
            now_ms.saturating_sub(seen),
            self.pinged.load(Ordering::Relaxed),
        )
    }

    /// The idle sweep sent a ping.
    pub(crate) fn mark_pinged(&self) {
        self.pinged.store(true, Ordering::Relaxed);
    }

    /// The drain handed `bytes` of this socket's messages to JavaScript.
    pub(crate) fn drained(&self, bytes: usize) {
        let before = self.inbound.fetch_sub(bytes, Ordering::AcqRel);
        if before >= INBOUND_LIMIT && before - bytes < INBOUND_LIMIT {
            self.inbound_room.notify_one();
        }
    }
}

/// Runs an upgraded connection until both halves are done, then lets go.
pub(crate) async fn run<R, W>(shared: Arc<Shared>, socket: Arc<Socket>, read: R, write: W)
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let Some(hub) = shared.ws.as_ref() else {
        return;
    };
    tokio::join!(
        read_loop(&shared, hub, &socket, read),
        write_loop(hub, &socket, write)
    );
    hub.task_done(&socket);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_frames_are_unmasked_with_the_right_length_field() {
        assert_eq!(&frame(OpCode::Text, b"hi")[..], b"\x81\x02hi");
        let big = frame(OpCode::Binary, &[0; 300]);
        assert_eq!(&big[..4], &[0x82, 126, 1, 44]);
        assert_eq!(big.len(), 304);
        assert_eq!(&close_frame(1000, b"bye")[..], b"\x88\x05\x03\xe8bye");
        // A reason is cut at a character boundary within 123 bytes.
        let long = "é".repeat(100);
        let cut = close_frame(1000, long.as_bytes());
        assert_eq!(cut[1] as usize, 2 + 122);
    }
}
