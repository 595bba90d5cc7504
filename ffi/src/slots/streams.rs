//! The slot side of streams: events that a streamed request body has a
//! chunk or a streamed response can take more, and the states JavaScript
//! reaches through a slot it holds.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Slots, BODY, HELD_BY_BODY, WRITABLE};
use crate::stream::body_in::BodyIn;
use crate::stream::StreamState;

impl Slots {
    /// A chunk (or the end) of `(id, generation)`'s streamed body waits for
    /// JavaScript, which asked for it.
    pub(crate) fn body_ready(&self, id: u32, generation: u32) {
        self.event(id | BODY, generation);
    }

    /// The streamed body JavaScript reads as `(id, generation)`, if it still
    /// holds that request.
    pub(crate) fn body_in(&self, id: u32, generation: u32) -> Option<Arc<BodyIn>> {
        if !self.held_by_js(id, generation) {
            return None;
        }
        self.cell(id).body_in.lock().clone()
    }

    /// Copies the next chunk of `(id, generation)`'s body into its response
    /// area (in the drain, on the JS thread, before JavaScript reads it).
    pub(super) fn deliver_body(&self, id: u32, generation: u32) -> bool {
        let Some(body) = self.body_in(id, generation) else {
            return false;
        };
        let area = self.res_ptr(id);
        body.take_into(
            &mut |length, flags, data| {
                let prefix = [length.to_le_bytes(), flags.to_le_bytes()].concat();
                // SAFETY: JavaScript holds the slot and only reads its response
                // area after this drain returns (on this same thread); the
                // prefix and `data` fit: `take_into` bounds `data` by the area.
                unsafe {
                    std::ptr::copy_nonoverlapping(prefix.as_ptr(), area, prefix.len());
                    std::ptr::copy_nonoverlapping(
                        data.as_ptr(),
                        area.add(prefix.len()),
                        data.len(),
                    );
                }
            },
            self.res_bytes,
        );
        true
    }

    /// The stream of `(id, generation)` handed every buffered byte to hyper.
    pub(crate) fn writable(&self, id: u32, generation: u32) {
        self.event(id | WRITABLE, generation);
    }

    /// Adds the streamed body as a holder of slot `id` (JavaScript holds
    /// it, so it cannot be freed meanwhile).
    pub(crate) fn attach_body(&self, id: u32) {
        self.cell(id)
            .holders
            .fetch_or(HELD_BY_BODY, Ordering::AcqRel);
    }

    /// The stream JavaScript writes into as `(id, generation)`, if it still
    /// holds that request.
    pub(crate) fn stream(&self, id: u32, generation: u32) -> Option<Arc<StreamState>> {
        if !self.held_by_js(id, generation) {
            return None;
        }
        self.cell(id).stream.lock().clone()
    }
}
