//! The commit's half of the hub: actions JavaScript queued (send, close,
//! ping, publish, subscribe, release) applied in order, on the JS thread.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use fastwebsockets::OpCode;

use super::socket::{self, Queued, Socket, HELD_BY_JS};
use super::{unsubscribe, Hub};
use crate::layout::ws::*;

impl Hub {
    /// Applies the actions JavaScript queued in the area since the last
    /// commit. Runs on the JS thread.
    pub(crate) fn apply(&self) {
        let count = self.area.word(ACTION_COUNT).swap(0, Ordering::AcqRel) as usize;
        for i in 0..count.min(ACTIONS) {
            let word = |k: usize| {
                self.area
                    .word(ACTIONS_AT + i * WORDS + k)
                    .load(Ordering::Relaxed)
            };
            let (head, generation, offset, length) = (word(0), word(1), word(2), word(3));
            // SAFETY: on the JS thread, inside a commit (see `Area`).
            let payload = unsafe { self.area.out(offset as usize, length as usize) };
            self.act(head >> KIND_SHIFT, head & INDEX_MASK, generation, payload);
        }
    }

    /// Applies one action (from the area, or `ferry_ws_send` for a payload
    /// larger than the outbound area). Returns how a send went: 1 sent,
    /// 0 dropped, -1 the socket is closing for backpressure.
    pub(crate) fn act(&self, kind: u32, index: u32, generation: u32, payload: &[u8]) -> i32 {
        let want_drain = kind & WANT_DRAIN != 0;
        match kind & !WANT_DRAIN {
            SEND_TEXT | SEND_BINARY => {
                let Some(socket) = self.socket(index, generation) else {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    return 0;
                };
                let opcode = if kind & !WANT_DRAIN == SEND_TEXT {
                    OpCode::Text
                } else {
                    OpCode::Binary
                };
                let queued = self.deliver(&socket, socket::frame(opcode, payload));
                if want_drain {
                    socket.want_drain(self);
                }
                match queued {
                    Queued::Sent => 1,
                    Queued::Dropped => 0,
                    Queued::Overflowed => -1,
                }
            }
            CLOSE_SOCKET => {
                if let Some(socket) = self.socket(index, generation) {
                    let code = match payload {
                        [a, b, ..] => u16::from_be_bytes([*a, *b]),
                        _ => 1000,
                    };
                    socket.close(self, code, payload.get(2..).unwrap_or_default());
                }
                1
            }
            PUBLISH_TEXT | PUBLISH_BINARY => {
                let opcode = if kind == PUBLISH_TEXT {
                    OpCode::Text
                } else {
                    OpCode::Binary
                };
                let Some((topic, message)) = split_topic(payload) else {
                    return 0;
                };
                let sender = (index != NO_SOCKET).then_some((index, generation));
                self.publish(topic, opcode, message, sender) as i32
            }
            SUBSCRIBE => {
                if let Some(socket) = self.socket(index, generation) {
                    let mut mine = socket.topics.lock();
                    if !mine.iter().any(|t| &t[..] == payload) {
                        mine.push(payload.into());
                        self.topics
                            .lock()
                            .entry(payload.into())
                            .or_default()
                            .insert(index);
                    }
                }
                1
            }
            UNSUBSCRIBE => {
                if let Some(socket) = self.socket(index, generation) {
                    socket.topics.lock().retain(|t| &t[..] != payload);
                    unsubscribe(&mut self.topics.lock(), payload, index);
                }
                1
            }
            RELEASE => {
                if let Some(socket) = self.socket(index, generation) {
                    socket.release_deferred(self);
                    self.let_go(&socket, HELD_BY_JS);
                }
                1
            }
            PING => {
                if let Some(socket) = self.socket(index, generation) {
                    socket.ping(self, payload);
                }
                1
            }
            _ => 0,
        }
    }

    fn deliver(&self, socket: &Socket, frame: Bytes) -> Queued {
        let queued = socket.queue(self, frame);
        match queued {
            Queued::Sent => self.counters.messages_out.fetch_add(1, Ordering::Relaxed),
            _ => self.counters.dropped.fetch_add(1, Ordering::Relaxed),
        };
        queued
    }

    /// Sends one message to every subscriber of `topic` but the sender,
    /// encoded once. Returns how many it reached.
    pub(crate) fn publish(
        &self,
        topic: &[u8],
        opcode: OpCode,
        message: &[u8],
        sender: Option<(u32, u32)>,
    ) -> u32 {
        self.counters.publishes.fetch_add(1, Ordering::Relaxed);
        let subscribers: Vec<u32> = match self.topics.lock().get(topic) {
            Some(set) => set.iter().copied().collect(),
            None => return 0,
        };
        let frame = socket::frame(opcode, message);
        let table = self.table.read();
        let mut reached = 0;
        for index in subscribers {
            if sender.is_some_and(|(i, _)| i == index) {
                continue;
            }
            if let Some(Some(socket)) = table.get(index as usize) {
                if self.deliver(socket, frame.clone()) == Queued::Sent {
                    reached += 1;
                }
            }
        }
        reached
    }
}

/// `[topic length u32 LE][topic][message]`.
fn split_topic(payload: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?) as usize;
    let topic = payload.get(4..4 + len)?;
    Some((topic, &payload[4 + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_and_message_split_at_the_declared_length() {
        let mut payload = 5u32.to_le_bytes().to_vec();
        payload.extend_from_slice(b"lobbyhello");
        assert_eq!(split_topic(&payload), Some((&b"lobby"[..], &b"hello"[..])));
        assert_eq!(split_topic(&payload[..6]), None);
        assert_eq!(split_topic(b"ab"), None);
    }
}
