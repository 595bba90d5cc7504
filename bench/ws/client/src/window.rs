//! The measured window every socket task shares: the phase (warm-up,
//! counting, done), a wake-up for tasks parked on a read when it ends, and
//! the errors seen.

use std::cell::{Cell, RefCell};

use tokio::sync::Notify;

/// Error messages kept for the summary; the rest are only counted.
const MAX_SAMPLES: usize = 5;

/// Where the run is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Traffic flows, nothing is counted (JIT and buffers settle).
    Warmup,
    /// Traffic flows and is counted.
    Counting,
    /// Tasks stop sending, close their sockets and return.
    Done,
}

/// State shared by the tasks of one run (a current-thread runtime).
pub struct Window {
    phase: Cell<Phase>,
    ended: Notify,
    errors: Cell<u64>,
    samples: RefCell<Vec<String>>,
}

impl Window {
    pub fn new() -> Self {
        Self {
            phase: Cell::new(Phase::Warmup),
            ended: Notify::new(),
            errors: Cell::new(0),
            samples: RefCell::new(Vec::new()),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase.get()
    }

    pub fn counting(&self) -> bool {
        self.phase.get() == Phase::Counting
    }

    pub fn start_counting(&self) {
        self.phase.set(Phase::Counting);
    }

    /// Ends the run and wakes every task parked in `ended()`.
    pub fn end(&self) {
        self.phase.set(Phase::Done);
        self.ended.notify_waiters();
    }

    /// Resolves at `end()`. Only call after checking `phase()` in the same
    /// turn: `notify_waiters` wakes the futures that exist when it runs.
    pub async fn ended(&self) {
        self.ended.notified().await;
    }

    pub fn error(&self, message: String) {
        self.errors.set(self.errors.get() + 1);
        let mut samples = self.samples.borrow_mut();
        if samples.len() < MAX_SAMPLES {
            samples.push(message);
        }
    }

    pub fn errors(&self) -> u64 {
        self.errors.get()
    }

    pub fn samples(&self) -> Vec<String> {
        self.samples.borrow().clone()
    }
}
