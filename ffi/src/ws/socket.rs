//! One WebSocket's I/O: a reader (frames in, through fastwebsockets) and a
//! writer (queued frames out, several per `write(2)`), joined in one task.
//! JavaScript never waits on either: messages reach it as events in the
//! next drain, and its sends are queued here by the commit.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocketError};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Hub, Limits};
use crate::layout::ws::{BINARY, DRAIN, TEXT};
use crate::server::Shared;

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
            let close = close_frame(1008, b"backpressure limit reached");
            out.bytes += close.len();
            out.frames.push_back(close);
            out.closing = true;
            let bytes = out.bytes;
            drop(out);
            hub.area.set_buffered(self.index, bytes);
            self.wake_writer.notify_one();
            return Queued::Overflowed;
        }
        out.bytes += frame.len();
        out.frames.push_back(frame);
        let bytes = out.bytes;
        drop(out);
        hub.area.set_buffered(self.index, bytes);
        self.wake_writer.notify_one();
        Queued::Sent
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
        out.bytes += frame.len();
        out.frames.push_back(frame);
        let bytes = out.bytes;
        drop(out);
        hub.area.set_buffered(self.index, bytes);
        self.wake_writer.notify_one();
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

/// A message being put together from fragments.
#[derive(Default)]
struct Message {
    kind: u32,
    data: BytesMut,
    /// Bytes of `data` known to be valid UTF-8 (text messages).
    checked: usize,
}

impl Message {
    /// Adds a data frame. Returns the whole message once its last frame
    /// arrived, or the close code that fails the connection: 1002 for a
    /// fragment out of order, 1007 for invalid UTF-8 (found as soon as it
    /// arrives), 1009 past `max` bytes.
    fn add(&mut self, frame: Frame<'_>, max: usize) -> Result<Option<(u32, Bytes)>, u16> {
        let starts = frame.opcode != OpCode::Continuation;
        if starts == (self.kind != 0) {
            return Err(1002);
        }
        if starts && frame.fin {
            // The common case: one frame, no copy (the payload is a slice
            // of fastwebsockets' read buffer; text was checked by it).
            let kind = if frame.opcode == OpCode::Text {
                TEXT
            } else {
                BINARY
            };
            return Ok(Some((kind, payload_bytes(frame.payload))));
        }
        if starts {
            self.kind = if frame.opcode == OpCode::Text {
                TEXT
            } else {
                BINARY
            };
        }
        if self.data.len() + frame.payload.len() > max {
            return Err(1009);
        }
        self.data.extend_from_slice(&frame.payload);
        if self.kind == TEXT {
            match std::str::from_utf8(&self.data[self.checked..]) {
                Ok(_) => self.checked = self.data.len(),
                // Invalid, not merely cut at the end of this fragment.
                Err(e) if e.error_len().is_some() || frame.fin => return Err(1007),
                Err(e) => self.checked += e.valid_up_to(),
            }
        }
        if !frame.fin {
            return Ok(None);
        }
        let kind = std::mem::take(&mut self.kind);
        self.checked = 0;
        Ok(Some((kind, std::mem::take(&mut self.data).freeze())))
    }
}

fn payload_bytes(payload: Payload<'_>) -> Bytes {
    match payload {
        Payload::Bytes(bytes) => bytes.freeze(),
        Payload::Owned(vec) => vec.into(),
        other => Bytes::copy_from_slice(&other),
    }
}

/// The close code that fails the connection for a read error (`None`: the
/// connection broke, nothing can be sent).
fn failure_code(error: &WebSocketError) -> Option<u16> {
    match error {
        WebSocketError::InvalidUTF8 => Some(1007),
        WebSocketError::FrameTooLarge => Some(1009),
        WebSocketError::IoError(_)
        | WebSocketError::UnexpectedEOF
        | WebSocketError::ConnectionClosed
        | WebSocketError::SendError(_) => None,
        _ => Some(1002),
    }
}

async fn read_loop<R>(shared: &Shared, hub: &Hub, socket: &Socket, read: R)
where
    R: AsyncRead + Unpin,
{
    let (mut ws, _) = fastwebsockets::after_handshake_split(read, tokio::io::sink(), Role::Server);
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    // fastwebsockets refuses a frame of `max` bytes or more.
    ws.set_max_message_size(socket.limits.max_payload.saturating_add(1));
    let mut message = Message::default();
    // The close the connection ended with: (code, reason, clean).
    let (code, reason, clean): (u16, Bytes, bool) = loop {
        // Pongs and close replies fastwebsockets owes go through the queue,
        // in order with everything else.
        let mut obligated = |frame: Frame<'_>| {
            if frame.opcode == OpCode::Close {
                socket.defer_close(frame_bytes(frame));
            } else {
                socket.queue_control(hub, frame_bytes(frame), false);
            }
            std::future::ready(Ok::<(), Infallible>(()))
        };
        let frame = tokio::select! {
            biased;
            _ = socket.cancel.cancelled() => break (1006, Bytes::new(), false),
            frame = ws.read_frame(&mut obligated) => frame,
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => match failure_code(&error) {
                Some(code) => {
                    let reason = error.to_string();
                    socket.defer_close(close_frame(code, reason.as_bytes()));
                    break (code, Bytes::from(reason), true);
                }
                None => break (1006, Bytes::new(), false),
            },
        };
        socket.last_seen.store(shared.now_ms(), Ordering::Relaxed);
        socket.pinged.store(false, Ordering::Relaxed);
        match frame.opcode {
            OpCode::Close => {
                let (code, reason) = match frame.payload.len() {
                    0 | 1 => (1005, Bytes::new()),
                    _ => {
                        let code = u16::from_be_bytes([frame.payload[0], frame.payload[1]]);
                        (code, Bytes::copy_from_slice(&frame.payload[2..]))
                    }
                };
                break (code, reason, true);
            }
            OpCode::Ping | OpCode::Pong => continue,
            _ => {}
        }
        match message.add(frame, socket.limits.max_payload) {
            Ok(None) => {}
            Ok(Some((kind, data))) => {
                let len = data.len();
                socket.inbound.fetch_add(len, Ordering::AcqRel);
                hub.message(socket, kind, data);
                while socket.inbound.load(Ordering::Acquire) >= INBOUND_LIMIT {
                    tokio::select! {
                        biased;
                        _ = socket.cancel.cancelled() => break,
                        _ = socket.inbound_room.notified() => {}
                    }
                }
            }
            Err(code) => {
                let reason: &[u8] = match code {
                    1007 => b"invalid UTF-8 in a text message",
                    1009 => b"message too big",
                    _ => b"fragments out of order",
                };
                socket.defer_close(close_frame(code, reason));
                break (code, Bytes::from_static(reason), true);
            }
        }
    };
    if !clean {
        // Nobody is reading: the writer stops too.
        socket.out.lock().done = true;
        socket.cancel.cancel();
    }
    hub.closed(socket, code, &reason);
}

fn frame_bytes(mut frame: Frame<'_>) -> Bytes {
    let mut head = [0u8; 16];
    let n = frame.fmt_head(&mut head);
    let mut buf = BytesMut::with_capacity(n + frame.payload.len());
    buf.extend_from_slice(&head[..n]);
    buf.extend_from_slice(&frame.payload);
    buf.freeze()
}

async fn write_loop<W>(hub: &Hub, socket: &Socket, mut write: W)
where
    W: AsyncWrite + Unpin,
{
    let mut joined: Vec<u8> = Vec::new();
    loop {
        let taken = {
            let mut out = socket.out.lock();
            if out.frames.is_empty() {
                if out.done {
                    break;
                }
                None
            } else {
                Some((std::mem::take(&mut out.frames), out.closing))
            }
        };
        let Some((frames, closing)) = taken else {
            tokio::select! {
                biased;
                _ = socket.cancel.cancelled() => break,
                _ = socket.wake_writer.notified() => continue,
            }
        };
        let n: usize = frames.iter().map(Bytes::len).sum();
        // Several frames (a burst of sends, a publish behind a reply) go in
        // one write(2).
        let bytes: &[u8] = if frames.len() == 1 {
            &frames[0]
        } else {
            joined.clear();
            for frame in &frames {
                joined.extend_from_slice(frame);
            }
            &joined
        };
        let written = tokio::select! {
            biased;
            _ = socket.cancel.cancelled() => false,
            result = write.write_all(bytes) => result.is_ok(),
        };
        if !written {
            socket.out.lock().done = true;
            socket.cancel.cancel();
            break;
        }
        hub.counters
            .frames_out
            .fetch_add(frames.len() as u64, Ordering::Relaxed);
        let left = {
            let mut out = socket.out.lock();
            out.bytes = out.bytes.saturating_sub(n);
            if closing {
                out.done = true;
            }
            out.bytes
        };
        hub.area.set_buffered(socket.index, left);
        if closing {
            // The close frame was the last one queued: the server is done
            // sending (RFC 6455 §7.1.1); the reader waits for the client's.
            let _ = write.shutdown().await;
            break;
        }
        if left == 0 && socket.want_drain.swap(false, Ordering::AcqRel) {
            hub.event(socket, DRAIN, Bytes::new());
        }
        if joined.capacity() > 1 << 20 {
            joined = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(opcode: OpCode, fin: bool, payload: &[u8]) -> Frame<'static> {
        Frame::new(fin, opcode, None, Payload::Owned(payload.to_vec()))
    }

    #[test]
    fn fragments_join_and_are_checked_as_they_arrive() {
        let mut m = Message::default();
        // "é" (0xC3 0xA9) cut across two fragments is fine.
        assert_eq!(m.add(data(OpCode::Text, false, b"caf\xC3"), 100), Ok(None));
        let done = m.add(data(OpCode::Continuation, true, b"\xA9!"), 100);
        assert_eq!(
            done,
            Ok(Some((TEXT, Bytes::from_static("café!".as_bytes()))))
        );
        // Invalid bytes fail at the fragment that carries them.
        assert_eq!(m.add(data(OpCode::Text, false, b"ok\xFF"), 100), Err(1007));
        let mut m = Message::default();
        assert_eq!(
            m.add(data(OpCode::Continuation, true, b"x"), 100),
            Err(1002)
        );
        assert_eq!(m.add(data(OpCode::Binary, false, &[1; 60]), 100), Ok(None));
        assert_eq!(m.add(data(OpCode::Binary, true, b"x"), 100), Err(1002));
        let mut m = Message::default();
        assert_eq!(m.add(data(OpCode::Binary, false, &[1; 60]), 100), Ok(None));
        assert_eq!(
            m.add(data(OpCode::Continuation, true, &[1; 60]), 100),
            Err(1009)
        );
    }

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
