//! The connection watchdog: one task per server enforces the keep-alive idle
//! timeout, the header read timeout and graceful shutdown for every
//! connection, instead of a timer per connection (polled on every wake-up)
//! and hyper's timer per request (armed and disarmed on every request).
//! Profiled, those two cost ~3% of the CPU of a plaintext request; here a
//! request costs a few relaxed atomic stores and a connection's wake-up one
//! `AtomicWaker` registration.
//!
//! Rules (tests/hostile_test.ts holds us to them):
//! - *Idle*: a connection with no request in flight and no partial request
//!   head, quiet for `keepAliveTimeoutMs` since its last request ended (or
//!   since it was accepted), is closed gracefully.
//! - *Header timeout* (HTTP/1): the first byte of a request head starts the
//!   clock; when the head has not become a request `headerTimeoutMs` later,
//!   the connection is dropped (slowloris). Bytes of a pipelined head that
//!   arrived during the previous request start no clock: that connection
//!   falls under the idle rule instead.
//! - *Shutdown*: every connection is asked to finish its requests and close.
//! - *Send timeout*: a connection with bytes waiting to be written (the
//!   socket refused them) that has had none accepted for `sendTimeoutMs` is
//!   dropped, whatever it is doing: a client that stops reading would
//!   otherwise hold its connection and the answer buffered for it forever.
//!   A client that reads slowly but steadily resets the clock with each
//!   write the socket accepts, and is kept.
//! - *Close grace*: a connection asked to close (idle, shutdown) that is
//!   still open with no request in flight, and has neither ended a request
//!   nor had a write accepted for `sendTimeoutMs`, is dropped: a graceful
//!   close waits on the peer (an HTTP/2 GOAWAY's acknowledgement, a client
//!   that holds its streams open) and must not wait forever. An answer
//!   still being written keeps its connection as long as it progresses
//!   (a request counts as ended once hyper has its response, before the
//!   body is written).
//!
//! `sendTimeoutMs: 0` turns off the last two rules.
//!
//! The check runs every `PERIOD`, so a timeout fires up to that much late.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use atomic_waker::AtomicWaker;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How often the watchdog looks at every connection.
pub(crate) const PERIOD: Duration = Duration::from_millis(50);

/// `head_since_ms` for a connection that is not HTTP/1 (no header timeout).
const UNTRACKED: u64 = u64::MAX;

/// What the watchdog asks of a connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Alarm {
    None = 0,
    /// Finish the requests in flight, then close (idle, shutdown).
    Close = 1,
    /// Drop the connection now (header timeout).
    Drop = 2,
}

/// Per-connection state shared by its task, its requests and the watchdog.
pub(crate) struct Activity {
    in_flight: AtomicU32,
    /// Coarse ms when the last request ended (or the connection began).
    last_ms: AtomicU64,
    /// Coarse ms + 1 of the first byte of a head not yet a request; 0 when
    /// none, `UNTRACKED` for HTTP/2.
    head_since_ms: AtomicU64,
    alarm: AtomicU8,
    /// Coarse ms + 1 when a write was refused (`Pending`) with none
    /// accepted since; 0 when writes are flowing.
    blocked_since_ms: AtomicU64,
    /// Coarse ms + 1 when the connection was asked to close, or of its
    /// last accepted write since; 0 when it has not been asked.
    closing_since_ms: AtomicU64,
    waker: AtomicWaker,
}

impl Activity {
    fn new(now_ms: u64) -> Activity {
        Activity {
            in_flight: AtomicU32::new(0),
            last_ms: AtomicU64::new(now_ms),
            head_since_ms: AtomicU64::new(0),
            alarm: AtomicU8::new(Alarm::None as u8),
            blocked_since_ms: AtomicU64::new(0),
            closing_since_ms: AtomicU64::new(0),
            waker: AtomicWaker::new(),
        }
    }

    /// A request began: its head is complete.
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.clear_head();
    }

    /// A request ended (answered, or dropped by hyper).
    pub(crate) fn request_ended(&self, now_ms: u64) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.last_ms.store(now_ms, Ordering::Relaxed);
        // Body bytes read during the request are not the next head.
        self.clear_head();
    }

    fn clear_head(&self) {
        if self.head_since_ms.load(Ordering::Relaxed) != UNTRACKED {
            self.head_since_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Bytes arrived: the first of a head starts the header clock.
    fn bytes_read(&self, now_ms: u64) {
        if self.head_since_ms.load(Ordering::Relaxed) == 0 {
            self.head_since_ms.store(now_ms + 1, Ordering::Relaxed);
        }
    }

    /// The socket refused a write: the send clock starts, unless it runs.
    fn write_refused(&self, now_ms: u64) {
        if self.blocked_since_ms.load(Ordering::Relaxed) == 0 {
            self.blocked_since_ms.store(now_ms + 1, Ordering::Relaxed);
        }
    }

    /// The socket took bytes: the send clock stops, and a close in progress
    /// gets more grace. On the hot path this is two relaxed loads of this
    /// connection's own state; stores (and the clock) only after a refusal
    /// or while closing.
    fn write_accepted(&self, now_ms: impl FnOnce() -> u64) {
        if self.blocked_since_ms.load(Ordering::Relaxed) != 0 {
            self.blocked_since_ms.store(0, Ordering::Relaxed);
        }
        if self.closing_since_ms.load(Ordering::Relaxed) != 0 {
            self.closing_since_ms.store(now_ms() + 1, Ordering::Relaxed);
        }
    }

    /// Asks the connection to close, starting the close grace.
    fn ask_to_close(&self, now_ms: u64) {
        self.raise(Alarm::Close);
        if self.closing_since_ms.load(Ordering::Relaxed) == 0 {
            self.closing_since_ms.store(now_ms + 1, Ordering::Relaxed);
        }
    }

    /// The send timeout or the close grace has run out (see the module docs).
    fn send_overdue(&self, now_ms: u64, send_ms: u64) -> bool {
        let blocked = self.blocked_since_ms.load(Ordering::Relaxed);
        // A stuck answer counts whether or not its request is in flight.
        if blocked != 0 && now_ms.saturating_sub(blocked - 1) >= send_ms {
            return true;
        }
        let closing = self.closing_since_ms.load(Ordering::Relaxed);
        if closing == 0 || self.in_flight.load(Ordering::Relaxed) > 0 {
            return false;
        }
        // A request that ended after the ask starts the grace again.
        let since = (closing - 1).max(self.last_ms.load(Ordering::Relaxed));
        now_ms.saturating_sub(since) >= send_ms
    }

    /// The alarm raised for this connection, if any.
    pub(crate) fn alarm(&self) -> Alarm {
        match self.alarm.load(Ordering::Acquire) {
            1 => Alarm::Close,
            2 => Alarm::Drop,
            _ => Alarm::None,
        }
    }

    /// Registers the connection task to be woken by an alarm, and returns
    /// the alarm as it stands after registering (none is missed).
    pub(crate) fn register(&self, cx: &Context<'_>) -> Alarm {
        self.waker.register(cx.waker());
        self.alarm()
    }

    fn raise(&self, alarm: Alarm) {
        // Never downgrade Drop to Close.
        if self.alarm.fetch_max(alarm as u8, Ordering::AcqRel) < alarm as u8 {
            self.waker.wake();
        }
    }
}

/// The connections of one server, as the watchdog sees them.
#[derive(Default)]
pub(crate) struct Watch {
    next: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Activity>>>,
}

/// Timeouts in coarse milliseconds.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) idle_ms: u64,
    pub(crate) header_ms: u64,
    /// The send timeout and the close grace; 0 turns both off.
    pub(crate) send_ms: u64,
}

impl Watch {
    /// Registers a new connection; the guard unregisters it.
    pub(crate) fn add(&self, now_ms: u64) -> Watched<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new(now_ms));
        self.connections.lock().insert(id, activity.clone());
        Watched {
            watch: self,
            id,
            activity,
        }
    }

    /// One look at every connection at `now_ms`. `closing`: the server is
    /// shutting down.
    pub(crate) fn check(&self, now_ms: u64, closing: bool, limits: Limits) {
        let connections = self.connections.lock();
        for activity in connections.values() {
            if limits.send_ms > 0 && activity.send_overdue(now_ms, limits.send_ms) {
                activity.raise(Alarm::Drop);
                continue;
            }
            if closing {
                activity.ask_to_close(now_ms);
                continue;
            }
            if activity.in_flight.load(Ordering::Relaxed) > 0 {
                continue;
            }
            let head = activity.head_since_ms.load(Ordering::Relaxed);
            if head != 0 && head != UNTRACKED {
                if now_ms.saturating_sub(head - 1) >= limits.header_ms {
                    activity.raise(Alarm::Drop);
                }
                continue;
            }
            let quiet = now_ms.saturating_sub(activity.last_ms.load(Ordering::Relaxed));
            if quiet >= limits.idle_ms {
                activity.ask_to_close(now_ms);
            }
        }
    }

    /// Connections registered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.connections.lock().len()
    }
}

/// A registered connection; unregisters on drop.
pub(crate) struct Watched<'a> {
    watch: &'a Watch,
    id: u64,
    pub(crate) activity: Arc<Activity>,
}

impl Drop for Watched<'_> {
    fn drop(&mut self) {
        self.watch.connections.lock().remove(&self.id);
    }
}

/// The coarse clock the stream stamps reads with.
pub(crate) trait Clock: Send + Sync + 'static {
    /// Coarse milliseconds since the server started.
    fn now_ms(&self) -> u64;
}

/// A connection's socket, noting when request-head bytes arrive and whether
/// writes make progress.
pub(crate) struct Stream<S, C> {
    inner: S,
    activity: Arc<Activity>,
    clock: Arc<C>,
    /// Bytes of the HTTP/2 preface matched so far; `None` once the
    /// connection is known not to be HTTP/2 (or known to be).
    preface: Option<usize>,
}

impl<S, C> Stream<S, C> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>, clock: Arc<C>) -> Self {
        Stream {
            inner,
            activity,
            clock,
            preface: Some(0),
        }
    }

    /// The socket itself, once hyper hands an upgraded connection over
    /// (WebSockets keep their own timeouts: `ws`).
    pub(crate) fn into_inner(self) -> S {
        self.inner
    }

    /// Follows the HTTP/2 preface across reads (a client may send it in
    /// pieces); returns whether the connection is now known to be HTTP/2.
    fn sniff(&mut self, got: &[u8]) -> bool {
        let Some(matched) = self.preface else {
            return false;
        };
        let want = &H2_PREFACE[matched..];
        let n = got.len().min(want.len());
        if got[..n] != want[..n] {
            self.preface = None;
            return false;
        }
        if matched + n < H2_PREFACE.len() {
            self.preface = Some(matched + n);
            return false;
        }
        self.preface = None;
        true
    }
}

/// The HTTP/2 connection preface starts with this.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

impl<S: AsyncRead + Unpin, C: Clock> AsyncRead for Stream<S, C> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let got = &buf.filled()[before..];
        if matches!(polled, Poll::Ready(Ok(()))) && !got.is_empty() {
            if this.sniff(got) {
                // HTTP/2 has no request heads to time: its idle rule is enough.
                this.activity
                    .head_since_ms
                    .store(UNTRACKED, Ordering::Relaxed);
            } else {
                this.activity.bytes_read(this.clock.now_ms());
            }
        }
        polled
    }
}

impl<S, C: Clock> Stream<S, C> {
    /// Feeds a write's outcome to the send clock.
    fn note_write(&self, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Pending => self.activity.write_refused(self.clock.now_ms()),
            Poll::Ready(Ok(n)) if *n > 0 => self.activity.write_accepted(|| self.clock.now_ms()),
            // Errors end the connection; a zero-byte write is no progress.
            Poll::Ready(_) => {}
        }
    }
}

impl<S: AsyncWrite + Unpin, C: Clock> AsyncWrite for Stream<S, C> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.note_write(&polled);
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Small pieces are joined into one write(2); large ones are not copied.
        let polled = crate::coalesce::poll_write(Pin::new(&mut this.inner), cx, bufs);
        this.note_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Runs `check` every `PERIOD` until it returns false (the server is gone).
pub(crate) async fn run(mut check: impl FnMut() -> bool) {
    let mut ticker = tokio::time::interval(PERIOD);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if !check() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        idle_ms: 1_000,
        header_ms: 100,
        send_ms: 300,
    };

    #[test]
    fn idle_connections_close_after_the_idle_limit() {
        let watch = Watch::default();
        let c = watch.add(0);
        watch.check(999, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::None);
        watch.check(1_000, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Close);
    }

    #[test]
    fn a_request_in_flight_keeps_a_connection() {
        let watch = Watch::default();
        let c = watch.add(0);
        c.activity.request_started();
        watch.check(5_000, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::None);
        c.activity.request_ended(5_000);
        watch.check(5_500, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::None);
        watch.check(6_000, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Close);
    }

    #[test]
    fn a_partial_head_is_dropped_after_the_header_limit() {
        let watch = Watch::default();
        let c = watch.add(0);
        c.activity.bytes_read(500);
        watch.check(599, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::None);
        watch.check(600, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Drop);
        // Drop is never downgraded.
        watch.check(600, true, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Drop);
    }

    #[test]
    fn a_completed_head_stops_the_header_clock() {
        let watch = Watch::default();
        let c = watch.add(0);
        c.activity.bytes_read(0);
        c.activity.request_started();
        c.activity.bytes_read(10); // body bytes
        c.activity.request_ended(20);
        watch.check(900, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::None);
    }

    #[test]
    fn http2_has_no_header_clock() {
        let watch = Watch::default();
        let c = watch.add(0);
        c.activity.head_since_ms.store(UNTRACKED, Ordering::Relaxed);
        c.activity.bytes_read(0);
        watch.check(500, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::None);
        watch.check(1_000, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Close);
    }

    struct Zero;
    impl Clock for Zero {
        fn now_ms(&self) -> u64 {
            0
        }
    }

    fn stream() -> Stream<(), Zero> {
        Stream::new((), Arc::new(Activity::new(0)), Arc::new(Zero))
    }

    #[test]
    fn the_http2_preface_is_recognised_across_reads_and_only_whole() {
        let mut s = stream();
        assert!(!s.sniff(b"PRI * HT"));
        assert!(s.sniff(b"TP/2.0\r\n\r\nSM"));
        // A slowloris that starts like the preface is still HTTP/1.
        let mut s = stream();
        assert!(!s.sniff(b"P"));
        assert!(!s.sniff(b"OST / HTTP/1.1\r\n"));
        assert_eq!(s.preface, None);
        assert!(!s.sniff(b"PRI * HTTP/2.0"));
    }

    #[test]
    fn a_write_refused_for_the_send_limit_drops_the_connection() {
        let watch = Watch::default();
        let c = watch.add(0);
        c.activity.request_started();
        c.activity.write_refused(100);
        c.activity.write_refused(250); // still blocked since 100
        watch.check(399, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::None);
        watch.check(400, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Drop);
    }

    #[test]
    fn a_slow_reader_that_takes_bytes_within_the_limit_is_kept() {
        let watch = Watch::default();
        let c = watch.add(0);
        c.activity.request_started();
        // Refused, then a write accepted every 250 ms for 10 s.
        for t in (0..10_000).step_by(250) {
            c.activity.write_refused(t);
            watch.check(t + 249, false, LIMITS);
            c.activity.write_accepted(|| t + 249);
        }
        assert_eq!(c.activity.alarm(), Alarm::None);
    }

    #[test]
    fn a_stuck_write_is_dropped_during_shutdown_too() {
        let watch = Watch::default();
        let c = watch.add(0);
        c.activity.write_refused(0);
        watch.check(100, true, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Close);
        watch.check(300, true, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Drop);
    }

    #[test]
    fn a_send_limit_of_zero_turns_the_send_rules_off() {
        let off = Limits {
            send_ms: 0,
            ..LIMITS
        };
        let watch = Watch::default();
        let c = watch.add(0);
        c.activity.write_refused(0);
        watch.check(1_000_000, false, off);
        assert_eq!(c.activity.alarm(), Alarm::Close);
        watch.check(2_000_000, false, off);
        assert_eq!(c.activity.alarm(), Alarm::Close);
    }

    #[test]
    fn an_idle_close_that_does_not_finish_is_escalated_to_drop() {
        let watch = Watch::default();
        let c = watch.add(0);
        watch.check(1_000, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Close);
        watch.check(1_299, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Close);
        watch.check(1_300, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Drop);
    }

    #[test]
    fn a_close_waits_for_requests_in_flight_and_writes_that_progress() {
        let watch = Watch::default();
        let c = watch.add(0);
        watch.check(1_000, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Close);
        // A request arrived as the close was asked for: it may finish...
        c.activity.request_started();
        watch.check(5_000, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Close);
        // ...and its answer be written, as long as writes are accepted.
        c.activity.request_ended(5_000);
        for t in (5_000..8_000).step_by(200) {
            c.activity.write_accepted(|| t);
            watch.check(t + 199, false, LIMITS);
        }
        assert_eq!(c.activity.alarm(), Alarm::Close);
        watch.check(7_800 + 300, false, LIMITS);
        assert_eq!(c.activity.alarm(), Alarm::Drop);
    }

    #[test]
    fn a_shutdown_close_is_escalated_too() {
        let watch = Watch::default();
        let (idle, busy) = (watch.add(0), watch.add(0));
        busy.activity.request_started();
        watch.check(10, true, LIMITS);
        watch.check(310, true, LIMITS);
        assert_eq!(idle.activity.alarm(), Alarm::Drop);
        // shutdown()'s deadline bounds a request in flight, not this rule.
        assert_eq!(busy.activity.alarm(), Alarm::Close);
    }

    #[test]
    fn writes_through_the_stream_drive_the_send_clock() {
        let s = stream();
        s.note_write(&Poll::Pending);
        assert_eq!(s.activity.blocked_since_ms.load(Ordering::Relaxed), 1);
        s.note_write(&Poll::Ready(Ok(0)));
        assert_eq!(s.activity.blocked_since_ms.load(Ordering::Relaxed), 1);
        s.note_write(&Poll::Ready(Ok(10)));
        assert_eq!(s.activity.blocked_since_ms.load(Ordering::Relaxed), 0);
        // Writes accepted during a close push its grace on.
        s.activity.closing_since_ms.store(42, Ordering::Relaxed);
        s.note_write(&Poll::Ready(Ok(10)));
        assert_eq!(s.activity.closing_since_ms.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn shutdown_closes_every_connection_and_guards_unregister() {
        let watch = Watch::default();
        let (a, b) = (watch.add(0), watch.add(0));
        a.activity.request_started();
        watch.check(1, true, LIMITS);
        assert_eq!(a.activity.alarm(), Alarm::Close);
        assert_eq!(b.activity.alarm(), Alarm::Close);
        drop(a);
        assert_eq!(watch.len(), 1);
    }
}
