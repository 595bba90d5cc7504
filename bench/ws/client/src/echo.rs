//! `ws-echo`: every socket keeps `depth` text messages in flight to an echo
//! endpoint and checks that each echo equals, byte for byte and in order,
//! the message it answers.

use std::rc::Rc;

use fastwebsockets::{Frame, OpCode, Payload};

use crate::connect::Socket;
use crate::window::Window;

/// Upper bound of messages one socket sends in a run.
const MAX_MESSAGES: u64 = 1 << 40;

/// The `n`-th message of socket `id`, padded to at least `size` bytes.
pub fn message(out: &mut Vec<u8>, id: usize, n: u64, size: usize) {
    use std::io::Write;
    out.clear();
    let _ = write!(out, "{{\"socket\":{id},\"seq\":{n},\"pad\":\"");
    while out.len() + 2 < size {
        out.push(b'x');
    }
    out.extend_from_slice(b"\"}");
}

/// Runs one socket until the window ends; returns the echoes counted.
pub async fn socket(
    mut ws: Socket,
    id: usize,
    depth: usize,
    size: usize,
    window: Rc<Window>,
) -> u64 {
    let mut expected = Vec::with_capacity(size + 32);
    let mut sent = 0u64;
    let mut received = 0u64;
    let mut counted = 0u64;
    for _ in 0..depth {
        if let Err(e) = send(&mut ws, id, sent, size).await {
            window.error(format!("socket {id}: send: {e}"));
            return counted;
        }
        sent += 1;
    }
    while received < MAX_MESSAGES && !window.over() {
        let frame = tokio::select! {
            frame = ws.read_frame() => frame,
            _ = window.ended() => break,
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                window.error(format!("socket {id}: read: {e}"));
                return counted;
            }
        };
        message(&mut expected, id, received, size);
        if frame.opcode != OpCode::Text || frame.payload[..] != expected[..] {
            window.error(format!(
                "socket {id}: echo {received} was {:?} {:?}, expected {:?}",
                frame.opcode,
                String::from_utf8_lossy(&frame.payload[..frame.payload.len().min(80)]),
                String::from_utf8_lossy(&expected),
            ));
            return counted;
        }
        received += 1;
        if window.counting() {
            counted += 1;
        }
        if window.over() {
            break;
        }
        if let Err(e) = send(&mut ws, id, sent, size).await {
            window.error(format!("socket {id}: send: {e}"));
            return counted;
        }
        sent += 1;
    }
    window.closed().await;
    let _ = ws.write_frame(Frame::close(1000, b"")).await;
    counted
}

async fn send(ws: &mut Socket, id: usize, n: u64, size: usize) -> Result<(), String> {
    let mut out = Vec::with_capacity(size + 32);
    message(&mut out, id, n, size);
    ws.write_frame(Frame::text(Payload::Owned(out)))
        .await
        .map_err(|e| e.to_string())
}
