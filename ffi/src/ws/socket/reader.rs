//! A socket's reader: frames in through fastwebsockets, fragments joined
//! and checked here, messages handed to the hub as events.

use std::convert::Infallible;
use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocketError};
use tokio::io::AsyncRead;

use super::{close_frame, Socket, INBOUND_LIMIT};
use crate::layout::ws::{BINARY, TEXT};
use crate::server::Shared;
use crate::ws::Hub;

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

pub(super) async fn read_loop<R>(shared: &Shared, hub: &Hub, socket: &Socket, read: R)
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
}
