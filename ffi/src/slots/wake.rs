//! The JS side's queue: publishing requests and events, the batched drain,
//! and parking (an eventcount, so a busy JS thread costs no syscall).

use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use super::*;

impl Slots {
    /// Hands a filled slot to the JS side, waking it only if it is parked.
    pub(crate) fn publish(&self, id: u32) {
        self.cell(id).holders.fetch_or(HELD_BY_JS, Ordering::AcqRel);
        // Cannot fail: at most `count` ids exist and each is queued once
        // (a slot is published again only after both holders let go, and
        // JavaScript lets go only of what it drained).
        let _ = self.ready.push(id);
        self.wake_parked();
    }

    /// An event outside the slots waits (a WebSocket message): the next
    /// pump drains it; a parked JS side wakes.
    pub(crate) fn external_event(&self) {
        self.external.store(true, Ordering::Release);
        self.wake_parked();
    }

    /// The drain of external events starts: whether any wait (later ones
    /// set the flag again).
    pub(crate) fn take_external(&self) -> bool {
        self.external.swap(false, Ordering::AcqRel)
    }

    /// The drain left external events behind (they did not fit): the JS
    /// side must not park on them.
    pub(crate) fn keep_external(&self) {
        self.external.store(true, Ordering::Release);
    }

    /// Wakes the JS side if it is parked (an eventcount: no syscall while
    /// it is busy).
    pub(super) fn wake_parked(&self) {
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) {
            let _guard = self.park_lock.lock();
            self.counters.wakes.fetch_add(1, Ordering::Relaxed);
            self.park_cv.notify_one();
            self.park_notify.notify_one();
        }
    }

    /// Copies up to `max` entries into `drain_ids` as `(id, generation)`
    /// pairs: first the cancelled requests JavaScript should release (id
    /// with `CANCELLED` set), then ready requests. Returns how many pairs.
    pub(crate) fn drain(&self, max: u32) -> u32 {
        let max = max.min(self.count) as usize;
        let put = |at: usize, id: u32, generation: u32| {
            self.drain_ids[2 * at].store(id, Ordering::Relaxed);
            self.drain_ids[2 * at + 1].store(generation, Ordering::Relaxed);
        };
        let mut n = 0;
        while n < max {
            let Some((tagged, generation)) = self.events.pop() else {
                break;
            };
            if tagged & BODY != 0 && !self.deliver_body(tagged & ID_MASK, generation) {
                continue;
            }
            put(n, tagged, generation);
            n += 1;
        }
        let mut requests = 0;
        while n < max {
            let Some(id) = self.ready.pop() else {
                break;
            };
            let cell = self.cell(id);
            if cell.holders.load(Ordering::Acquire) & HELD_BY_TASK == 0 {
                // Over before JavaScript saw it (the client left): it never
                // will, so let go on its behalf; no handler runs.
                self.drop_holder(id, HELD_BY_JS);
                continue;
            }
            put(n, id, cell.generation.load(Ordering::Acquire));
            n += 1;
            requests += 1;
        }
        if requests > 0 {
            self.counters
                .drained
                .fetch_add(requests as u64, Ordering::Relaxed);
            self.counters
                .drains_nonempty
                .fetch_add(1, Ordering::Relaxed);
        }
        n as u32
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
        } else if !self.ready.is_empty()
            || !self.events.is_empty()
            || self.external.load(Ordering::Acquire)
        {
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
