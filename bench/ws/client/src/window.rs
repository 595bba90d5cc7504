//! The measured window every socket task shares: the phase (warm-up,
//! counting, done, closing), wake-ups for tasks parked when it ends and when
//! they may close, and the errors seen.

use std::cell::{Cell, RefCell};

use tokio::sync::Notify;

/// Error messages kept for the summary; the rest are only counted.
const MAX_SAMPLES: usize = 5;

/// Where the run is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Traffic flows, nothing is counted (JIT and buffers settle).
    Warmup,
    /// Traffic flows and is counted.
    Counting,
    /// Tasks stop sending and wait, sockets open, while the runner reads
    /// the server's counters.
    Done,
    /// Tasks close their sockets and return.
    Closing,
}

/// State shared by the tasks of one run (a current-thread runtime).
pub struct Window {
    phase: Cell<Phase>,
    ended: Notify,
    closing: Notify,
    errors: Cell<u64>,
    samples: RefCell<Vec<String>>,
}

impl Window {
    pub fn new() -> Self {
        Self {
            phase: Cell::new(Phase::Warmup),
            ended: Notify::new(),
            closing: Notify::new(),
            errors: Cell::new(0),
            samples: RefCell::new(Vec::new()),
        }
    }

    /// Whether tasks must stop sending (`Done` or `Closing`).
    pub fn over(&self) -> bool {
        matches!(self.phase.get(), Phase::Done | Phase::Closing)
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

    /// Resolves at `end()`. Only call after checking `over()` in the same
    /// turn: `notify_waiters` wakes the futures that exist when it runs.
    pub async fn ended(&self) {
        self.ended.notified().await;
    }

    /// Lets the tasks close their sockets.
    pub fn close(&self) {
        self.phase.set(Phase::Closing);
        self.closing.notify_waiters();
    }

    /// Resolves once `close()` was called.
    pub async fn closed(&self) {
        if self.phase.get() != Phase::Closing {
            self.closing.notified().await;
        }
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
