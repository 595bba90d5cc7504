//! `ws-broadcast`: subscribers each check that they receive every published
//! message once, in order; one publisher socket sends numbered messages,
//! at most `window` ahead of the slowest subscriber (a closed loop: the
//! server runs flat out, but no queue grows without bound).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use fastwebsockets::{Frame, OpCode, Payload};
use tokio::sync::Notify;

use crate::connect::Socket;
use crate::window::Window;

/// Upper bound of messages published in a run.
const MAX_MESSAGES: u64 = 1 << 40;
/// How long the publisher waits for a message to reach every subscriber.
const STALL: Duration = Duration::from_secs(5);

/// The `seq`-th published message, padded to at least `size` bytes.
pub fn message(out: &mut Vec<u8>, seq: u64, size: usize) {
    use std::io::Write;
    out.clear();
    let _ = write!(out, "{{\"seq\":{seq},\"topic\":\"broadcast\",\"pad\":\"");
    while out.len() + 2 < size {
        out.push(b'x');
    }
    out.extend_from_slice(b"\"}");
}

/// Deliveries still missing per message, for the last `window` messages.
pub struct Flow {
    /// `missing[seq % window]`: subscribers that have not received `seq` yet.
    missing: Vec<Cell<u32>>,
    /// Signalled when a message has reached every subscriber.
    delivered: Notify,
}

impl Flow {
    pub fn new(window: usize) -> Self {
        Self {
            missing: (0..window).map(|_| Cell::new(0)).collect(),
            delivered: Notify::new(),
        }
    }

    fn slot(&self, seq: u64) -> &Cell<u32> {
        &self.missing[(seq % self.missing.len() as u64) as usize]
    }
}

/// Publishes until the window ends; returns the messages published while
/// counting.
pub async fn publisher(
    mut ws: Socket,
    subscribers: u32,
    size: usize,
    flow: Rc<Flow>,
    window: Rc<Window>,
) -> u64 {
    let mut out = Vec::with_capacity(size + 32);
    let mut counted = 0u64;
    let lag = flow.missing.len() as u64;
    'publish: for seq in 0..MAX_MESSAGES {
        // The slot of `seq` held `seq - lag`: wait until every subscriber has it.
        let slot = flow.slot(seq);
        for _ in 0..MAX_MESSAGES {
            if slot.get() == 0 {
                break;
            }
            if window.over() {
                break 'publish;
            }
            tokio::select! {
                _ = flow.delivered.notified() => {}
                _ = window.ended() => break 'publish,
                _ = tokio::time::sleep(STALL) => {
                    window.error(format!(
                        "publisher: message {} reached {} of {subscribers} subscribers in {STALL:?}",
                        seq - lag,
                        subscribers - slot.get(),
                    ));
                    break 'publish;
                }
            }
        }
        if window.over() {
            break;
        }
        slot.set(subscribers);
        message(&mut out, seq, size);
        let frame = Frame::text(Payload::Owned(out.clone()));
        if let Err(e) = ws.write_frame(frame).await {
            window.error(format!("publisher: send: {e}"));
            return counted;
        }
        if window.counting() {
            counted += 1;
        }
    }
    window.closed().await;
    let _ = ws.write_frame(Frame::close(1000, b"")).await;
    counted
}

/// Receives until the window ends; returns the messages counted.
pub async fn subscriber(
    mut ws: Socket,
    id: usize,
    size: usize,
    flow: Rc<Flow>,
    window: Rc<Window>,
) -> u64 {
    let mut expected = Vec::with_capacity(size + 32);
    let mut counted = 0u64;
    for seq in 0..MAX_MESSAGES {
        if window.over() {
            break;
        }
        let frame = tokio::select! {
            frame = ws.read_frame() => frame,
            _ = window.ended() => break,
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                window.error(format!("subscriber {id}: read: {e}"));
                return counted;
            }
        };
        message(&mut expected, seq, size);
        if frame.opcode != OpCode::Text || frame.payload[..] != expected[..] {
            window.error(format!(
                "subscriber {id}: message {seq} was {:?} {:?}",
                frame.opcode,
                String::from_utf8_lossy(&frame.payload[..frame.payload.len().min(80)]),
            ));
            return counted;
        }
        if window.counting() {
            counted += 1;
        }
        let slot = flow.slot(seq);
        slot.set(slot.get().saturating_sub(1));
        if slot.get() == 0 {
            flow.delivered.notify_one();
        }
    }
    window.closed().await;
    let _ = ws.write_frame(Frame::close(1000, b"")).await;
    counted
}
