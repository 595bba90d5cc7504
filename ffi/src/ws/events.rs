//! The drain's half of the hub: events (open, message, close, drain) copied
//! into the shared area, payloads included, on the JS thread.

use std::sync::atomic::Ordering;

use super::Hub;
use crate::layout::ws::*;

impl Hub {
    /// Copies queued events into the area, payloads into its inbound bytes,
    /// as many as fit. Runs on the JS thread, in `ferry_pump`. Returns how
    /// many it copied (also written to the area's count word).
    pub(crate) fn drain(&self) -> u32 {
        // Most pumps find no socket event: no locks taken for them (the
        // count word stays 0, as JavaScript left it).
        if !self.slots.take_external() {
            return 0;
        }
        let mut outside = self.outside.lock();
        outside.clear();
        let mut held = self.held.lock();
        let mut n = 0;
        let mut offset = 0;
        while n < EVENTS {
            let Some(event) = held.take().or_else(|| self.events.pop()) else {
                break;
            };
            let len = event.data.len();
            let (kind, at) = if offset + len <= IN_BYTES {
                // SAFETY: on the JS thread, inside the drain (see `Area`).
                unsafe { self.area.write_in(offset, &event.data) };
                offset += len;
                (event.kind, offset - len)
            } else if len > IN_BYTES {
                outside.push(event.data.clone());
                (event.kind | OUTSIDE, outside.len() - 1)
            } else {
                *held = Some(event);
                break;
            };
            let entry = EVENTS_AT + n * WORDS;
            self.area
                .word(entry)
                .store(kind << KIND_SHIFT | event.index, Ordering::Relaxed);
            self.area
                .word(entry + 1)
                .store(event.generation, Ordering::Relaxed);
            self.area
                .word(entry + 2)
                .store(at as u32, Ordering::Relaxed);
            self.area
                .word(entry + 3)
                .store(len as u32, Ordering::Relaxed);
            if event.kind == TEXT || event.kind == BINARY {
                if let Some(socket) = self.socket(event.index, event.generation) {
                    socket.drained(len);
                }
            }
            n += 1;
        }
        if held.is_some() || !self.events.is_empty() {
            self.slots.keep_external();
        }
        self.area
            .word(EVENT_COUNT)
            .store(n as u32, Ordering::Release);
        n as u32
    }

    /// Copies the outside payload `ticket` of the last drain into `buf`.
    pub(crate) fn take(&self, ticket: u32, buf: &mut [u8]) -> Option<usize> {
        let outside = self.outside.lock();
        let data = outside.get(ticket as usize)?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Some(n)
    }
}
