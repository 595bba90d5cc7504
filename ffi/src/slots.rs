//! The slot arena: fixed request/response records in Rust-owned memory that
//! TypeScript maps once, plus the queues that move slot ids between threads.
//!
//! Producers (hyper tasks) take a free slot, write the request record, push
//! the id on the ready queue and await the slot's [`Answer`]. The JS thread
//! drains ready ids in batches, writes responses in place and commits them.
//! The waiting task takes the answer: no channel is allocated per request.
//!
//! Ownership (docs/crossing.md, "Who owns a slot"): a published slot has two
//! holders, the waiting hyper task and JavaScript. Each lets go exactly once
//! (the task when it takes its answer or is dropped; JavaScript when it
//! commits, or releases a request Rust declared over), and only the last one
//! returns the slot to the free list, bumping its generation. So the bytes
//! of a slot never change while JavaScript may read them: when the client
//! leaves or the handler times out, Rust marks the request over and tells
//! JavaScript (a *cancel* entry in the drain array), and JavaScript's
//! release frees the slot.
//! Wake-ups use an eventcount: a producer only touches the condvar when the
//! JS side has declared itself parked, so a busy JS thread costs no syscall.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::task::Waker;

use crossbeam_queue::ArrayQueue;
use parking_lot::{Condvar, Mutex};

use crate::response::Body;
use crate::stream::body_in::BodyIn;
use crate::stream::StreamState;
use std::sync::Arc;

/// The hyper task holds the slot (from `acquire` until it has its answer
/// or is dropped).
const HELD_BY_TASK: u8 = 1;
/// JavaScript holds the slot (from `publish` until it commits or releases).
const HELD_BY_JS: u8 = 2;
/// A streamed response body holds the slot (from its head until hyper drops
/// the body: finished, failed, or the client left).
const HELD_BY_BODY: u8 = 4;
/// Set on a drain entry's id: the request of that `(id, generation)` is
/// over (client gone, timed out, expired); JavaScript releases it.
pub(crate) const CANCELLED: u32 = 1 << 31;
/// Set on a drain entry's id: the stream of `(id, generation)` handed every
/// buffered byte to hyper; JavaScript may write again.
pub(crate) const WRITABLE: u32 = 1 << 30;
/// Set on a drain entry's id: the next chunk of that request's streamed
/// body is in the slot's response area (`stream::body_in::chunk`).
pub(crate) const BODY: u32 = 1 << 29;
/// The bits of a drain entry's id that are the slot.
const ID_MASK: u32 = BODY - 1;

/// Where a slot's answer meets the hyper task waiting for it.
pub(crate) enum Answer {
    /// No request waits in the slot.
    Idle,
    /// Handed to JavaScript; the waker of the task awaiting the answer.
    Waiting(Option<Waker>),
    /// Answered (by JavaScript, or 504 by the timeout sweep): the waiting
    /// task takes it and frees the slot.
    Ready(http::Response<Body>),
}

/// One slot's Rust-side state; the bytes live in the arena.
pub(crate) struct SlotCell {
    /// Where the answer meets the hyper task waiting for it.
    pub(crate) answer: Mutex<Answer>,
    /// The request record when it did not fit in the slot.
    pub(crate) overflow_req: Mutex<Option<Vec<u8>>>,
    /// A body handed over by `ferry_set_body`.
    body_outside: Mutex<Option<Vec<u8>>>,
    /// The streamed response JavaScript writes into, from its head on.
    pub(crate) stream: Mutex<Option<Arc<StreamState>>>,
    /// The streamed request body JavaScript reads from, if any.
    pub(crate) body_in: Mutex<Option<Arc<BodyIn>>>,
    /// A WebSocket upgrade waiting for JavaScript's answer (`ws`).
    upgrade: Mutex<Option<crate::ws::PendingUpgrade>>,
    /// Set once `overflow_req`, `body_outside`, `stream` or `body_in` holds
    /// something, so the common request (none) frees its slot without
    /// taking their locks.
    extras: AtomicBool,
    /// Bumped each time the slot returns to the free list, so a late commit
    /// or call for an old request is ignored.
    pub(crate) generation: AtomicU32,
    /// `HELD_BY_*` bits: who still holds the slot.
    holders: AtomicU8,
    /// When the request was handed to JS (ms since server start), for the
    /// handler-timeout sweep.
    pub(crate) published_ms: AtomicU64,
}

/// Counters shared by producers and the JS-facing calls.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) to_js: AtomicU64,
    pub(crate) wakes: AtomicU64,
    pub(crate) full: AtomicU64,
    pub(crate) drained: AtomicU64,
    pub(crate) drains_nonempty: AtomicU64,
    pub(crate) committed: AtomicU64,
    pub(crate) abandoned: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    /// Cancel entries handed to JavaScript (requests over before it answered).
    pub(crate) cancelled: AtomicU64,
    /// Streamed responses whose body is still being sent.
    pub(crate) streams_open: AtomicU64,
    /// Stream chunks received from JavaScript.
    pub(crate) chunks_in: AtomicU64,
    /// Stream chunks handed to hyper.
    pub(crate) chunks_out: AtomicU64,
    /// `ferry_stream_write` calls (chunks too large for the slot).
    pub(crate) stream_writes: AtomicU64,
}

/// The arena, queues and parking state of one server.
pub(crate) struct Slots {
    base: *mut u8,
    layout: Layout,
    /// Number of slots.
    pub(crate) count: u32,
    /// Bytes of a request record.
    pub(crate) req_bytes: usize,
    /// Bytes of a response record.
    pub(crate) res_bytes: usize,
    /// Shared `u32` array the drain copies `(id, generation)` pairs into;
    /// an id with `CANCELLED` set is a request JavaScript should release.
    pub(crate) drain_ids: Box<[AtomicU32]>,
    /// Shared `u32` array TypeScript fills with commit entries (`layout::op`).
    pub(crate) commit_ids: Box<[AtomicU32]>,
    cells: Box<[SlotCell]>,
    /// Free slot ids, used as a stack: the slot freed last is taken first,
    /// so a few hot slots serve most requests while their bytes are still
    /// in cache (a FIFO walked the whole arena and missed the cache on every
    /// write: ~1.5% of CPU in `memcpy` before this).
    free: Mutex<Vec<u32>>,
    ready: ArrayQueue<u32>,
    /// Events for JavaScript: `(id | CANCELLED or WRITABLE, generation)`.
    /// Per slot at most one writable event (it waits for `op::WAIT`), one
    /// body event (it waits for `op::PULL`) and two cancels (one per slot
    /// generation between two drains) are queued at once, so `4 * count`
    /// never overflows.
    events: ArrayQueue<(u32, u32)>,
    parked: AtomicBool,
    /// Events queued outside the slots (WebSockets, `ws::Hub`) wait for
    /// the next drain.
    external: AtomicBool,
    closed: AtomicBool,
    /// Set by `expire`: no more requests are handed to JavaScript.
    expired: AtomicBool,
    park_lock: Mutex<()>,
    park_cv: Condvar,
    park_notify: tokio::sync::Notify,
    /// Live counters, read by `ferry_stats`.
    pub(crate) counters: Counters,
}

// SAFETY: the raw arena pointer is only dereferenced for one slot at a time,
// and a slot's bytes have one writer at a time: the producing task writes the
// request record between `acquire` and `publish` (the slot is on no queue and
// JavaScript has no id for it); from `publish` on, Rust never writes the slot
// again until both holders let go (`drop_holder`) and it is back on the free
// list, so JavaScript reads a record nobody writes, and writes the response
// record that Rust reads only in `commit`, on the JS thread, after JavaScript
// finished writing it. Everything else is atomics or behind a mutex.
unsafe impl Send for Slots {}
// SAFETY: see `Send`.
unsafe impl Sync for Slots {}

/// Result of parking the JS side.
pub(crate) enum Woken {
    /// Ready ids are waiting.
    Ready,
    /// The timeout passed with nothing ready.
    TimedOut,
    /// The server is closing: stop waiting.
    Closed,
}

impl SlotCell {
    /// Keeps a request record too large for the slot.
    pub(crate) fn set_overflow(&self, record: Vec<u8>) {
        *self.overflow_req.lock() = Some(record);
        self.extras.store(true, Ordering::Release);
    }

    /// Keeps the stream of a streamed answer (its head was committed).
    pub(crate) fn set_stream(&self, stream: Arc<StreamState>) {
        *self.stream.lock() = Some(stream);
        self.extras.store(true, Ordering::Release);
    }

    /// Keeps the body of a request that streams in.
    pub(crate) fn set_body_in(&self, body: Arc<BodyIn>) {
        *self.body_in.lock() = Some(body);
        self.extras.store(true, Ordering::Release);
    }

    /// Keeps a response body handed over by `ferry_set_body`.
    pub(crate) fn set_body_outside(&self, body: Vec<u8>) {
        *self.body_outside.lock() = Some(body);
        self.extras.store(true, Ordering::Release);
    }

    /// Keeps the upgrade of a WebSocket request until JavaScript answers.
    pub(crate) fn set_upgrade(&self, upgrade: crate::ws::PendingUpgrade) {
        *self.upgrade.lock() = Some(upgrade);
        self.extras.store(true, Ordering::Release);
    }

    /// Takes the upgrade kept by `set_upgrade`, if any.
    pub(crate) fn take_upgrade(&self) -> Option<crate::ws::PendingUpgrade> {
        if !self.extras.load(Ordering::Acquire) {
            return None;
        }
        self.upgrade.lock().take()
    }

    /// Takes the body handed over by `ferry_set_body`, if any.
    pub(crate) fn take_body_outside(&self) -> Option<Vec<u8>> {
        if !self.extras.load(Ordering::Acquire) {
            return None;
        }
        self.body_outside.lock().take()
    }
}

impl Slots {
    /// Allocates `count` zeroed slots of `req_bytes + res_bytes` each.
    pub(crate) fn new(count: u32, req_bytes: usize, res_bytes: usize) -> Slots {
        let slot = req_bytes + res_bytes;
        let size = (slot * count as usize).max(64);
        let layout = Layout::from_size_align(size, 64).expect("arena layout");
        // SAFETY: the layout's size is at least 64 bytes (never zero, which
        // `alloc_zeroed` forbids), and its alignment is a power of two.
        let base = unsafe { alloc_zeroed(layout) };
        assert!(!base.is_null(), "arena allocation failed");
        let free = Mutex::new((0..count).rev().collect::<Vec<u32>>());
        let cells = (0..count)
            .map(|_| SlotCell {
                answer: Mutex::new(Answer::Idle),
                overflow_req: Mutex::new(None),
                body_outside: Mutex::new(None),
                extras: AtomicBool::new(false),
                generation: AtomicU32::new(0),
                holders: AtomicU8::new(0),
                stream: Mutex::new(None),
                body_in: Mutex::new(None),
                upgrade: Mutex::new(None),
                published_ms: AtomicU64::new(0),
            })
            .collect();
        let ids = |n: u32| (0..n).map(|_| AtomicU32::new(0)).collect::<Box<[_]>>();
        Slots {
            base,
            layout,
            count,
            req_bytes,
            res_bytes,
            drain_ids: ids(count * 2),
            commit_ids: ids(count * crate::layout::op::WORDS as u32),
            cells,
            free,
            ready: ArrayQueue::new(count as usize),
            events: ArrayQueue::new(count as usize * 4),
            parked: AtomicBool::new(false),
            external: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            expired: AtomicBool::new(false),
            park_lock: Mutex::new(()),
            park_cv: Condvar::new(),
            park_notify: tokio::sync::Notify::new(),
            counters: Counters::default(),
        }
    }

    /// Start of the arena, for mapping into JS.
    pub(crate) fn arena_ptr(&self) -> *mut u8 {
        self.base
    }

    /// Start of the request record of slot `id`, `req_bytes` long. Memory
    /// JavaScript reads is written through this raw pointer, never through
    /// a `&mut` made from `&self`.
    pub(crate) fn req_ptr(&self, id: u32) -> *mut u8 {
        assert!(id < self.count, "slot id out of range");
        let start = id as usize * (self.req_bytes + self.res_bytes);
        // SAFETY: `id < count`, so `start + req_bytes` lies inside the
        // allocation made in `new`.
        unsafe { self.base.add(start) }
    }

    /// Start of the response area of slot `id`, `res_bytes` long.
    fn res_ptr(&self, id: u32) -> *mut u8 {
        // SAFETY: `req_ptr` checked `id < count`; the response area follows
        // the request record inside the slot.
        unsafe { self.req_ptr(id).add(self.req_bytes) }
    }

    /// The response record of slot `id`.
    ///
    /// # Safety
    /// JavaScript must hold the slot and have finished writing the record
    /// (true in `commit`, which runs on the JS thread): nobody writes these
    /// bytes while the returned slice lives.
    pub(crate) unsafe fn res(&self, id: u32) -> &[u8] {
        assert!(id < self.count, "slot id out of range");
        let start = id as usize * (self.req_bytes + self.res_bytes) + self.req_bytes;
        // SAFETY: in bounds as in `req_ptr`; no writer while it lives (the
        // caller's contract).
        unsafe { std::slice::from_raw_parts(self.base.add(start), self.res_bytes) }
    }

    /// Rust-side state of slot `id`.
    pub(crate) fn cell(&self, id: u32) -> &SlotCell {
        &self.cells[id as usize]
    }

    /// Takes a free slot, or `None` when the arena is full.
    pub(crate) fn acquire(&self) -> Option<u32> {
        let id = self.free.lock().pop();
        match id {
            Some(id) => self.cell(id).holders.store(HELD_BY_TASK, Ordering::Release),
            None => {
                self.counters.full.fetch_add(1, Ordering::Relaxed);
            }
        }
        id
    }

    /// Hands `response` to the task waiting on slot `id`, if the slot still
    /// carries the request of `generation` (`None`: whichever it carries)
    /// and nobody answered it yet. Returns whether it was handed over.
    pub(crate) fn answer(
        &self,
        id: u32,
        generation: Option<u32>,
        response: impl FnOnce() -> http::Response<Body>,
    ) -> bool {
        let cell = self.cell(id);
        // Checked under the answer's lock: a `Waiting` slot cannot be freed
        // and reused meanwhile (its task holds it, and lets go only after
        // leaving `Waiting` under this lock: `task_done`).
        let current = |cell: &SlotCell| {
            generation.is_none_or(|g| g == cell.generation.load(Ordering::Acquire))
        };
        self.answer_when(cell, current, response)
    }

    /// Moves slot cell `cell` from `Waiting` to `Ready(response())` if
    /// `check` holds under the answer's lock, and wakes the waiting task.
    fn answer_when(
        &self,
        cell: &SlotCell,
        check: impl FnOnce(&SlotCell) -> bool,
        response: impl FnOnce() -> http::Response<Body>,
    ) -> bool {
        let waker = {
            let mut answer = cell.answer.lock();
            let Answer::Waiting(waker) = &mut *answer else {
                return false;
            };
            if !check(cell) {
                return false;
            }
            let waker = waker.take();
            *answer = Answer::Ready(response());
            waker
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Marks slot `id` as handed to JavaScript (its answer `Waiting`), unless
    /// `expire` ran: then nothing changes and the caller, which still owns
    /// the slot, answers the request itself. Returns whether it was marked.
    pub(crate) fn begin_waiting(&self, id: u32) -> bool {
        let mut answer = self.cell(id).answer.lock();
        // Read under the answer's lock, which `expire` takes for every slot
        // after raising the flag: either this sees the flag, or `expire`
        // sees this slot waiting and answers it.
        if self.expired.load(Ordering::Acquire) {
            return false;
        }
        *answer = Answer::Waiting(None);
        true
    }

    /// Answers every request still waiting for JavaScript with
    /// `response()`, and from now on refuses to hand more to it (see
    /// `begin_waiting`). The waiting tasks free their slots; a late commit
    /// finds its slot answered or reused and is dropped. Returns how many
    /// were answered.
    pub(crate) fn expire(&self, response: impl Fn() -> http::Response<Body>) -> u32 {
        self.expired.store(true, Ordering::Release);
        (0..self.count)
            .filter(|&id| self.answer(id, None, &response))
            .count() as u32
    }

    /// The hyper task lets go of slot `id`: its answer was taken, or the
    /// request ended first (client gone: the answer, if any, is dropped).
    /// If JavaScript still holds the request, it is told with a cancel
    /// entry; the slot is freed by whichever holder lets go last.
    /// The hyper task took its answer (and left the cell `Idle`): it lets
    /// go of slot `id` without taking the answer's lock again.
    pub(crate) fn answer_taken(&self, id: u32) {
        self.let_go(id, HELD_BY_TASK);
    }

    pub(crate) fn task_done(&self, id: u32) {
        let cell = self.cell(id);
        let unanswered = {
            let mut answer = cell.answer.lock();
            let waiting = matches!(*answer, Answer::Waiting(_));
            *answer = Answer::Idle;
            waiting
        };
        if unanswered {
            self.counters.abandoned.fetch_add(1, Ordering::Relaxed);
        }
        self.let_go(id, HELD_BY_TASK);
    }

    /// A streamed body lets go of slot `id` (finished, failed, or the
    /// client left).
    pub(crate) fn body_done(&self, id: u32) {
        self.let_go(id, HELD_BY_BODY);
    }

    /// A Rust-side holder lets go. If JavaScript is then the only holder,
    /// the request is over for it (a handler past its timeout, a client
    /// gone mid-stream): it is told, so it releases the slot and later
    /// reads throw. Stale events are ignored by generation.
    fn let_go(&self, id: u32, holder: u8) {
        let generation = self.cell(id).generation.load(Ordering::Acquire);
        if self.drop_holder(id, holder) & !holder == HELD_BY_JS {
            self.event(id | CANCELLED, generation);
            self.counters.cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues an event for JavaScript and wakes it if it is parked.
    fn event(&self, tagged: u32, generation: u32) {
        // Cannot fail: see the bound on `events`.
        let _ = self.events.push((tagged, generation));
        self.wake_parked();
    }

    /// JavaScript lets go of `(id, generation)` without an answer (a stream
    /// it ended, or a request Rust said is over).
    pub(crate) fn release(&self, id: u32, generation: u32) {
        if id < self.count {
            self.js_done(id, generation);
        }
    }

    /// JavaScript lets go of `(id, generation)` (it committed an answer or
    /// released a request that is over). Returns whether the task was still
    /// waiting, so the caller may hand it the answer. A stale pair (the
    /// slot was freed and reused meanwhile) changes nothing.
    fn js_done(&self, id: u32, generation: u32) -> bool {
        let cell = self.cell(id);
        if cell.generation.load(Ordering::Acquire) != generation
            || cell.holders.load(Ordering::Acquire) & HELD_BY_JS == 0
        {
            return false;
        }
        self.drop_holder(id, HELD_BY_JS) & HELD_BY_TASK != 0
    }

    /// Clears `holder`'s bit; the last holder frees the slot. Returns the
    /// bits that were set before.
    fn drop_holder(&self, id: u32, holder: u8) -> u8 {
        let before = self.cell(id).holders.fetch_and(!holder, Ordering::AcqRel);
        if before == holder {
            self.recycle(id);
        }
        before
    }

    /// Returns a slot nobody holds to the free list under a new generation.
    fn recycle(&self, id: u32) {
        let cell = self.cell(id);
        // The answer is `Idle` already: the task left it so when it let go
        // (`answer_taken`, `task_done`), and nothing answers an idle slot.
        cell.generation.fetch_add(1, Ordering::AcqRel);
        if cell.extras.swap(false, Ordering::AcqRel) {
            *cell.overflow_req.lock() = None;
            *cell.body_outside.lock() = None;
            *cell.stream.lock() = None;
            *cell.body_in.lock() = None;
            *cell.upgrade.lock() = None;
        }
        self.free.lock().push(id);
    }

    /// Commits JavaScript's answer for `(id, generation)`: JavaScript lets
    /// go of the slot, and the waiting task (if any) gets `response()`.
    /// Returns whether an answer was handed over.
    pub(crate) fn commit(
        &self,
        id: u32,
        generation: u32,
        response: impl FnOnce() -> http::Response<Body>,
    ) -> bool {
        if id >= self.count || !self.js_done(id, generation) {
            return false;
        }
        // The task still holds the slot, so it cannot be freed or reused
        // here; `answer` re-checks the generation under the answer's lock.
        self.answer(id, Some(generation), response)
    }

    /// Whether `(id, generation)` is a request JavaScript holds now (for
    /// calls that name a slot: set body, read overflow).
    pub(crate) fn held_by_js(&self, id: u32, generation: u32) -> bool {
        id < self.count
            && self.cell(id).generation.load(Ordering::Acquire) == generation
            && self.cell(id).holders.load(Ordering::Acquire) & HELD_BY_JS != 0
    }

    /// Answers slot `id` with `response()` if it waits for JavaScript and
    /// was handed over at least `older_than_ms` before `now_ms` (the
    /// handler-timeout sweep). Both are read under the answer's lock.
    pub(crate) fn answer_if_older(
        &self,
        id: u32,
        now_ms: u64,
        older_than_ms: u64,
        response: impl FnOnce() -> http::Response<Body>,
    ) -> bool {
        let old_enough = |cell: &SlotCell| {
            let published = cell.published_ms.load(Ordering::Relaxed);
            now_ms.saturating_sub(published) >= older_than_ms
        };
        self.answer_when(self.cell(id), old_enough, response)
    }

    /// Number of slots currently taken.
    pub(crate) fn in_use(&self) -> u32 {
        self.count - self.free.lock().len() as u32
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with the same layout, freed once. The
        // JS side stops reading the arena before it closes the server
        // (every source is released first; see `lib/server.ts`).
        unsafe { dealloc(self.base, self.layout) }
    }
}

mod streams;
#[cfg(test)]
mod tests;
mod wake;
