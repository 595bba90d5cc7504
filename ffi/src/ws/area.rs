//! The shared block WebSocket events and actions cross through: `u32`
//! words (entries, counts, buffered amounts) then two byte areas (inbound
//! payloads, outbound payloads). Layout: `layout::ws`.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::layout::ws::{BUFFERED_AT, IN_BYTES, OUT_BYTES};

/// The block, allocated once per server that has WebSocket routes.
pub(crate) struct Area {
    base: *mut u8,
    layout: Layout,
    /// Sockets the buffered-amount array has room for.
    pub(crate) max_sockets: u32,
}

// SAFETY: the block is only touched through `word` (atomics, any thread)
// and through `write_in` / `out` on the JS thread: the drain writes inbound
// bytes JavaScript reads only after the drain returned, and the commit
// reads outbound bytes JavaScript finished writing before it called. No two
// threads touch the byte areas at once.
unsafe impl Send for Area {}
// SAFETY: see `Send`.
unsafe impl Sync for Area {}

impl Area {
    /// A zeroed block for `max_sockets` sockets.
    pub(crate) fn new(max_sockets: u32) -> Area {
        let size = Area::size(max_sockets);
        let layout = Layout::from_size_align(size, 64).expect("ws area layout");
        // SAFETY: the size is far above zero and the alignment a power of two.
        let base = unsafe { alloc_zeroed(layout) };
        assert!(!base.is_null(), "ws area allocation failed");
        Area {
            base,
            layout,
            max_sockets,
        }
    }

    /// Bytes of the block for `max_sockets` sockets (mirrored in TypeScript).
    pub(crate) fn size(max_sockets: u32) -> usize {
        Area::in_at(max_sockets) + IN_BYTES + OUT_BYTES
    }

    fn in_at(max_sockets: u32) -> usize {
        (BUFFERED_AT + max_sockets as usize) * 4
    }

    /// Start of the block, for mapping into JavaScript.
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.base
    }

    /// Word `i` of the block.
    pub(crate) fn word(&self, i: usize) -> &AtomicU32 {
        assert!(
            i < BUFFERED_AT + self.max_sockets as usize,
            "ws word out of range"
        );
        // SAFETY: in bounds (checked), 4-aligned (the block is 64-aligned),
        // and `AtomicU32` has the layout of `u32`; the block lives as long
        // as `self`.
        unsafe { &*(self.base.add(i * 4) as *const AtomicU32) }
    }

    /// Publishes socket `index`'s buffered amount for `ws.bufferedAmount`.
    pub(crate) fn set_buffered(&self, index: u32, bytes: usize) {
        if index < self.max_sockets {
            let value = bytes.min(u32::MAX as usize) as u32;
            self.word(BUFFERED_AT + index as usize)
                .store(value, Ordering::Relaxed);
        }
    }

    /// Copies `data` into the inbound area at `offset`.
    ///
    /// # Safety
    /// Only on the JS thread, inside a drain: JavaScript reads the inbound
    /// area only after the drain returned.
    pub(crate) unsafe fn write_in(&self, offset: usize, data: &[u8]) {
        assert!(
            offset + data.len() <= IN_BYTES,
            "inbound write out of range"
        );
        // SAFETY: in bounds (checked); nobody else touches the inbound area
        // now (the caller's contract); `data` is Rust memory, not the block.
        unsafe {
            let at = self.base.add(Area::in_at(self.max_sockets) + offset);
            std::ptr::copy_nonoverlapping(data.as_ptr(), at, data.len());
        }
    }

    /// The outbound bytes `offset..offset + length`.
    ///
    /// # Safety
    /// Only on the JS thread, inside a commit: JavaScript wrote these bytes
    /// before the call and writes no more until it returns.
    pub(crate) unsafe fn out(&self, offset: usize, length: usize) -> &[u8] {
        let offset = offset.min(OUT_BYTES);
        let length = length.min(OUT_BYTES - offset);
        // SAFETY: in bounds (clamped); no writer while the slice lives (the
        // caller's contract).
        unsafe {
            let at = self
                .base
                .add(Area::in_at(self.max_sockets) + IN_BYTES + offset);
            std::slice::from_raw_parts(at, length)
        }
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { dealloc(self.base, self.layout) };
    }
}
