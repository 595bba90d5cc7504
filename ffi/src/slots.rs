//! The slot arena: fixed request/response records in Rust-owned memory that
//! TypeScript maps once, plus the queues that move slot ids between threads.
//!
//! Producers (hyper tasks) take a free slot, write the request record, push
//! the id on the ready queue and await the slot's [`Answer`]. The JS thread
//! drains ready ids in batches, writes responses in place and commits them.
//! The waiting task takes the answer and frees the slot: no channel is
//! allocated per request.
//! Wake-ups use an eventcount: a producer only touches the condvar when the
//! JS side has declared itself parked, so a busy JS thread costs no syscall.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::Waker;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use parking_lot::{Condvar, Mutex};

use crate::response::Body;

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
    /// Set once `overflow_req` or `body_outside` holds bytes, so the common
    /// request (neither) frees its slot without taking their locks.
    extras: AtomicBool,
    /// Bumped on each use so a late commit for an old request is ignored.
    pub(crate) generation: AtomicU32,
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
    /// Shared `u32` array the drain copies ready ids into.
    pub(crate) drain_ids: Box<[AtomicU32]>,
    /// Shared `u32` array TypeScript fills with ids to commit.
    pub(crate) commit_ids: Box<[AtomicU32]>,
    cells: Box<[SlotCell]>,
    /// Free slot ids, used as a stack: the slot freed last is taken first,
    /// so a few hot slots serve most requests while their bytes are still
    /// in cache (a FIFO walked the whole arena and missed the cache on every
    /// write: ~1.5% of CPU in `memcpy` before this).
    free: Mutex<Vec<u32>>,
    ready: ArrayQueue<u32>,
    parked: AtomicBool,
    closed: AtomicBool,
    /// Set by `expire`: no more requests are handed to JavaScript.
    expired: AtomicBool,
    park_lock: Mutex<()>,
    park_cv: Condvar,
    park_notify: tokio::sync::Notify,
    /// Live counters, read by `ferry_stats`.
    pub(crate) counters: Counters,
}

// SAFETY: the raw arena pointer is only written through disjoint slots, each
// owned by exactly one side at a time (hyper task before the ready push, JS
// after the drain, the committing call after commit).
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

    /// Keeps a response body handed over by `ferry_set_body`.
    pub(crate) fn set_body_outside(&self, body: Vec<u8>) {
        *self.body_outside.lock() = Some(body);
        self.extras.store(true, Ordering::Release);
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
        let layout = Layout::from_size_align(slot * count as usize, 64).expect("arena layout");
        // SAFETY: layout is non-zero (count and sizes are validated by config).
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
            drain_ids: ids(count),
            commit_ids: ids(count * 2),
            cells,
            free,
            ready: ArrayQueue::new(count as usize),
            parked: AtomicBool::new(false),
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

    /// The request record of slot `id`.
    ///
    /// # Safety
    /// The caller must own the slot (see the `Sync` note).
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn req_mut(&self, id: u32) -> &mut [u8] {
        let start = id as usize * (self.req_bytes + self.res_bytes);
        std::slice::from_raw_parts_mut(self.base.add(start), self.req_bytes)
    }

    /// The response record of slot `id`.
    ///
    /// # Safety
    /// The caller must own the slot (see the `Sync` note).
    pub(crate) unsafe fn res(&self, id: u32) -> &[u8] {
        let start = id as usize * (self.req_bytes + self.res_bytes) + self.req_bytes;
        std::slice::from_raw_parts(self.base.add(start), self.res_bytes)
    }

    /// Rust-side state of slot `id`.
    pub(crate) fn cell(&self, id: u32) -> &SlotCell {
        &self.cells[id as usize]
    }

    /// Takes a free slot, or `None` when the arena is full.
    pub(crate) fn acquire(&self) -> Option<u32> {
        let id = self.free.lock().pop();
        if id.is_none() {
            self.counters.full.fetch_add(1, Ordering::Relaxed);
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
        let waker = {
            let mut answer = cell.answer.lock();
            // Checked under the answer's lock: the slot cannot be freed and
            // reused meanwhile (only the waiting task frees it, under it too).
            let current = cell.generation.load(Ordering::Acquire);
            if generation.is_some_and(|g| g != current) {
                return false;
            }
            let Answer::Waiting(waker) = &mut *answer else {
                return false;
            };
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

    /// Returns a slot to the free list, dropping whatever it still holds.
    pub(crate) fn release(&self, id: u32) {
        *self.cell(id).answer.lock() = Answer::Idle;
        self.release_answered(id);
    }

    /// `release` for a slot whose answer was already taken (left `Idle`).
    pub(crate) fn release_answered(&self, id: u32) {
        let cell = self.cell(id);
        cell.generation.fetch_add(1, Ordering::AcqRel);
        if cell.extras.swap(false, Ordering::AcqRel) {
            *cell.overflow_req.lock() = None;
            *cell.body_outside.lock() = None;
        }
        self.free.lock().push(id);
    }

    /// Number of slots currently taken.
    pub(crate) fn in_use(&self) -> u32 {
        self.count - self.free.lock().len() as u32
    }

    /// Hands a filled slot to the JS side, waking it only if it is parked.
    pub(crate) fn publish(&self, id: u32) {
        // Cannot fail: at most `count` ids exist and each is queued once.
        let _ = self.ready.push(id);
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) {
            let _guard = self.park_lock.lock();
            self.counters.wakes.fetch_add(1, Ordering::Relaxed);
            self.park_cv.notify_one();
            self.park_notify.notify_one();
        }
    }

    /// Copies up to `max` ready ids into `drain_ids`; returns how many.
    pub(crate) fn drain(&self, max: u32) -> u32 {
        let max = max.min(self.count);
        let mut n = 0;
        while n < max {
            match self.ready.pop() {
                Some(id) => {
                    self.drain_ids[n as usize].store(id, Ordering::Relaxed);
                    n += 1;
                }
                None => break,
            }
        }
        if n > 0 {
            self.counters.drained.fetch_add(n as u64, Ordering::Relaxed);
            self.counters
                .drains_nonempty
                .fetch_add(1, Ordering::Relaxed);
        }
        n
    }

    /// Parks the calling (non-JS) thread until ids are ready, the timeout
    /// passes, or the server closes.
    pub(crate) fn park(&self, timeout: Duration) -> Woken {
        let mut guard = self.park_lock.lock();
        self.parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let woken = loop {
            if let Some(woken) = self.settled() {
                break woken;
            }
            if self.park_cv.wait_for(&mut guard, timeout).timed_out() {
                break self.settled().unwrap_or(Woken::TimedOut);
            }
        };
        self.parked.store(false, Ordering::Relaxed);
        woken
    }

    /// `Closed` or `Ready` when either holds now.
    fn settled(&self) -> Option<Woken> {
        if self.closed.load(Ordering::Acquire) {
            Some(Woken::Closed)
        } else if !self.ready.is_empty() {
            Some(Woken::Ready)
        } else {
            None
        }
    }

    /// Like `park`, for a waiter that drives the pump runtime meanwhile.
    pub(crate) async fn park_async(&self, timeout: Duration) -> Woken {
        if timeout.is_zero() {
            // A zero-timeout wait is a yield to Deno's event loop: no timer
            // (tokio's wheel would round it up to a whole millisecond).
            return self.settled().unwrap_or(Woken::TimedOut);
        }
        self.parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + timeout;
        let woken = loop {
            let notified = self.park_notify.notified();
            if let Some(woken) = self.settled() {
                break woken;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break self.settled().unwrap_or(Woken::TimedOut);
            }
        };
        self.parked.store(false, Ordering::Relaxed);
        woken
    }

    /// Releases a parked waiter for good.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _guard = self.park_lock.lock();
        self.park_cv.notify_all();
        self.park_notify.notify_one();
    }

    /// Whether `close` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with the same layout.
        unsafe { dealloc(self.base, self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acquire_release_cycles_every_slot() {
        let slots = Slots::new(4, 128, 64);
        let ids: Vec<u32> = (0..4).map(|_| slots.acquire().unwrap()).collect();
        assert!(slots.acquire().is_none());
        assert_eq!(slots.in_use(), 4);
        for id in ids {
            slots.release(id);
        }
        assert_eq!(slots.in_use(), 0);
    }

    #[test]
    fn drain_copies_ready_ids_in_order() {
        let slots = Slots::new(8, 128, 64);
        for id in [3, 1, 7] {
            slots.publish(id);
        }
        assert_eq!(slots.drain(2), 2);
        assert_eq!(slots.drain_ids[0].load(Ordering::Relaxed), 3);
        assert_eq!(slots.drain_ids[1].load(Ordering::Relaxed), 1);
        assert_eq!(slots.drain(8), 1);
        assert_eq!(slots.drain_ids[0].load(Ordering::Relaxed), 7);
    }

    fn status(slots: &Slots, id: u32) -> Option<http::StatusCode> {
        match &*slots.cell(id).answer.lock() {
            Answer::Ready(response) => Some(response.status()),
            _ => None,
        }
    }

    #[test]
    fn expire_answers_waiting_slots_and_refuses_later_ones() {
        let slots = Slots::new(4, 128, 64);
        let waiting = slots.acquire().unwrap();
        assert!(slots.begin_waiting(waiting));
        let answered = slots.acquire().unwrap();
        assert!(slots.begin_waiting(answered));
        let generation = slots.cell(answered).generation.load(Ordering::Relaxed);
        let ok = || http::Response::new(crate::body::empty());
        assert!(slots.answer(answered, Some(generation), ok));
        let idle = slots.acquire().unwrap();
        let unavailable = || crate::response::unavailable("closing");
        assert_eq!(slots.expire(unavailable), 1);
        assert_eq!(
            status(&slots, waiting),
            Some(http::StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(status(&slots, answered), Some(http::StatusCode::OK));
        assert_eq!(status(&slots, idle), None);
        // A request published after `expire` is not handed to JavaScript.
        assert!(!slots.begin_waiting(idle));
        assert!(matches!(*slots.cell(idle).answer.lock(), Answer::Idle));
        // A late commit for the expired request is dropped once it is freed.
        slots.release(waiting);
        assert!(!slots.answer(waiting, Some(0), ok));
    }

    #[test]
    fn park_wakes_on_publish_and_close() {
        let slots = std::sync::Arc::new(Slots::new(2, 128, 64));
        let s2 = slots.clone();
        let t = std::thread::spawn(move || s2.park(Duration::from_secs(5)));
        std::thread::sleep(Duration::from_millis(20));
        slots.publish(1);
        assert!(matches!(t.join().unwrap(), Woken::Ready));
        assert!(matches!(slots.park(Duration::from_millis(1)), Woken::Ready));
        slots.drain(2);
        assert!(matches!(
            slots.park(Duration::from_millis(1)),
            Woken::TimedOut
        ));
        slots.close();
        assert!(matches!(slots.park(Duration::from_secs(5)), Woken::Closed));
    }
}
