//! WebSockets in the native core (issue #13, docs/websockets.md).
//!
//! A request to a WebSocket route is checked here (`handshake`), handed to
//! JavaScript like any other (its before-middleware and `upgrade()` run
//! there) and, when JavaScript answers 101, upgraded by hyper. From then on
//! the socket's frames are read and written by one task (`socket`), and
//! cross to JavaScript in batches, never one FFI call per message:
//!
//! - **events** (open, message, close, drain) queue here and the drain of
//!   each `ferry_pump` copies them, payloads included, into the shared
//!   [`Area`]; JavaScript reads them after the pump returns;
//! - **actions** (send, close, publish, subscribe, release) are written by
//!   JavaScript into the same area and applied by the next commit;
//! - **topics** live here: one publish action reaches every subscriber,
//!   with the frame encoded once.
//!
//! Ownership follows the slots' rule: a socket index is reused only after
//! its task ended and JavaScript released it; every entry carries the
//! generation it was made for, and a stale one changes nothing.

mod actions;
pub(crate) mod area;
mod events;
pub(crate) mod handshake;
mod socket;
#[cfg(test)]
mod tests;
mod upgrade;

pub(crate) use upgrade::{accept, PendingUpgrade};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use crossbeam_queue::SegQueue;
use parking_lot::{Mutex, RwLock};
use serde::Deserialize;

use crate::layout::ws::*;
use crate::server::Shared;
use crate::slots::Slots;
pub(crate) use area::Area;
use socket::{Socket, HELD_BY_TASK};

/// A route's WebSocket options, as TypeScript sends them.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RouteWs {
    /// Largest message (whole, after joining fragments); past it: 1009.
    pub(crate) max_payload_bytes: u64,
    /// Silence after which the socket is pinged (half) and closed (whole)
    /// with 1001; 0: never.
    pub(crate) idle_timeout_ms: u64,
    /// Bytes a socket may have waiting to be written; past it the socket
    /// closes with 1008, or messages are dropped.
    pub(crate) backpressure_limit_bytes: u64,
    /// Drop messages past the limit instead of closing.
    pub(crate) drop_on_backpressure: bool,
}

impl Default for RouteWs {
    fn default() -> Self {
        RouteWs {
            max_payload_bytes: 16 << 20,
            idle_timeout_ms: 120_000,
            backpressure_limit_bytes: 1 << 20,
            drop_on_backpressure: false,
        }
    }
}

/// A socket's limits, from its route.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_payload: usize,
    pub(crate) idle_ms: u64,
    pub(crate) backpressure: usize,
    pub(crate) drop_on_backpressure: bool,
}

impl From<RouteWs> for Limits {
    fn from(c: RouteWs) -> Limits {
        Limits {
            max_payload: c.max_payload_bytes.min(usize::MAX as u64) as usize,
            idle_ms: c.idle_timeout_ms,
            backpressure: c.backpressure_limit_bytes.min(usize::MAX as u64) as usize,
            drop_on_backpressure: c.drop_on_backpressure,
        }
    }
}

/// Live counters, read by `ferry_server_stats`.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) opened: AtomicU64,
    pub(crate) open: AtomicU64,
    /// Sockets whose connection task still runs.
    pub(crate) running: AtomicU64,
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) publishes: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

/// An event waiting for the next drain.
struct Event {
    index: u32,
    generation: u32,
    kind: u32,
    data: Bytes,
}

/// Every socket of one server, its topics and its event queue.
pub(crate) struct Hub {
    pub(crate) area: Area,
    /// Limits by route id; `None` for a route that is not a WebSocket's.
    routes: Vec<Option<Limits>>,
    table: RwLock<Vec<Option<Arc<Socket>>>>,
    generations: Box<[AtomicU32]>,
    free: Mutex<Vec<u32>>,
    events: SegQueue<Event>,
    /// An event that did not fit the last drain: it goes first next time.
    held: Mutex<Option<Event>>,
    /// Payloads larger than the inbound area, for `ferry_ws_take`.
    outside: Mutex<Vec<Bytes>>,
    topics: Mutex<HashMap<Box<[u8]>, HashSet<u32>>>,
    /// Wakes a parked JavaScript loop when events arrive.
    slots: Arc<Slots>,
    pub(crate) counters: Counters,
}

impl Hub {
    /// A hub for the routes that have WebSocket options; `None` if none do.
    pub(crate) fn new(
        routes: &[crate::config::RouteConfig],
        max_sockets: u32,
        slots: Arc<Slots>,
    ) -> Option<Hub> {
        if routes.iter().all(|r| r.websocket.is_none()) {
            return None;
        }
        let max_sockets = max_sockets.clamp(1, NO_SOCKET);
        let mut limits = vec![None; routes.len()];
        for route in routes {
            if let (Some(ws), Some(slot)) = (route.websocket, limits.get_mut(route.id as usize)) {
                *slot = Some(Limits::from(ws));
            }
        }
        Some(Hub {
            area: Area::new(max_sockets),
            routes: limits,
            table: RwLock::new(vec![None; max_sockets as usize]),
            generations: (0..max_sockets).map(|_| AtomicU32::new(0)).collect(),
            free: Mutex::new((0..max_sockets).rev().collect()),
            events: SegQueue::new(),
            held: Mutex::new(None),
            outside: Mutex::new(Vec::new()),
            topics: Mutex::new(HashMap::new()),
            slots,
            counters: Counters::default(),
        })
    }

    /// Whether `route` is a WebSocket route.
    pub(crate) fn is_ws_route(&self, route: u32) -> bool {
        matches!(self.routes.get(route as usize), Some(Some(_)))
    }

    /// Whether a socket index is free (checked before handing an upgrade
    /// to JavaScript, so a full server answers 503 at once).
    pub(crate) fn has_room(&self) -> bool {
        !self.free.lock().is_empty()
    }

    /// The live socket `(index, generation)`.
    fn socket(&self, index: u32, generation: u32) -> Option<Arc<Socket>> {
        let table = self.table.read();
        let socket = table.get(index as usize)?.as_ref()?;
        (socket.generation == generation).then(|| socket.clone())
    }

    /// Queues an event for JavaScript and wakes it if parked.
    fn event(&self, socket: &Socket, kind: u32, data: Bytes) {
        self.push(socket.index, socket.generation, kind, data);
    }

    fn push(&self, index: u32, generation: u32, kind: u32, data: Bytes) {
        self.events.push(Event {
            index,
            generation,
            kind,
            data,
        });
        self.slots.external_event();
    }

    /// A new socket for an upgraded connection; `None` when every index is
    /// taken. JavaScript gets an open event naming the upgrade's slot.
    fn open(
        &self,
        route: u32,
        slot: u32,
        slot_generation: u32,
        now_ms: u64,
    ) -> Option<Arc<Socket>> {
        let limits = self.routes.get(route as usize).copied().flatten()?;
        let index = self.free.lock().pop()?;
        let generation = self.generations[index as usize].load(Ordering::Acquire);
        let socket = Arc::new(Socket::new(index, generation, limits, now_ms));
        self.table.write()[index as usize] = Some(socket.clone());
        self.area.set_buffered(index, 0);
        self.counters.opened.fetch_add(1, Ordering::Relaxed);
        self.counters.open.fetch_add(1, Ordering::Relaxed);
        self.counters.running.fetch_add(1, Ordering::Relaxed);
        self.event(&socket, OPEN, slot_pair(slot, slot_generation));
        Some(socket)
    }

    /// The connection closed (cleanly or not): its subscriptions end, and
    /// JavaScript gets the close event.
    fn closed(&self, socket: &Socket, code: u16, reason: &[u8]) {
        self.leave_topics(socket);
        let mut payload = Vec::with_capacity(2 + reason.len());
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(reason);
        self.event(socket, CLOSE, payload.into());
    }

    /// Removes the socket from every topic it joined.
    fn leave_topics(&self, socket: &Socket) {
        let topics = std::mem::take(&mut *socket.topics.lock());
        if !topics.is_empty() {
            let mut all = self.topics.lock();
            for topic in topics {
                unsubscribe(&mut all, &topic, socket.index);
            }
        }
    }

    /// The socket's task ended.
    fn task_done(&self, socket: &Socket) {
        self.counters.running.fetch_sub(1, Ordering::Relaxed);
        self.let_go(socket, HELD_BY_TASK);
    }

    /// A holder lets go; the last one frees the index for a new generation.
    fn let_go(&self, socket: &Socket, holder: u8) {
        let before = socket.holders.fetch_and(!holder, Ordering::AcqRel);
        if before & holder == 0 || before != holder {
            return;
        }
        // A subscribe JavaScript sent before it saw the close event may have
        // come after `closed`: the index must not carry it to its next socket.
        self.leave_topics(socket);
        let index = socket.index as usize;
        self.table.write()[index] = None;
        self.generations[index].fetch_add(1, Ordering::AcqRel);
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
        self.free.lock().push(socket.index);
    }

    /// An accepted upgrade that never became a socket (the client left
    /// before the 101 went out): JavaScript forgets it.
    fn failed(&self, slot: u32, slot_generation: u32) {
        self.push(NO_SOCKET, 0, FAILED, slot_pair(slot, slot_generation));
    }

    /// A message arrived (the reader counted its bytes as inbound).
    fn message(&self, socket: &Socket, kind: u32, data: Bytes) {
        self.counters.messages_in.fetch_add(1, Ordering::Relaxed);
        self.event(socket, kind, data);
    }

    /// Idle pings and closes, and the end of sockets whose close handshake
    /// never finished. Runs every `SWEEP_MS`.
    fn sweep(&self, now_ms: u64) {
        let sockets: Vec<Arc<Socket>> = self.table.read().iter().flatten().cloned().collect();
        for socket in sockets {
            if socket.is_closing() {
                let since = socket.closing_since.load(Ordering::Relaxed);
                if since == 0 {
                    socket.closing_since.store(now_ms.max(1), Ordering::Relaxed);
                } else if now_ms.saturating_sub(since) >= CLOSE_WAIT_MS {
                    socket.cancel.cancel();
                }
                continue;
            }
            let idle = socket.limits.idle_ms;
            if idle == 0 {
                continue;
            }
            let (silent, pinged) = socket.silence(now_ms);
            if silent >= idle {
                socket.close(self, 1001, b"idle timeout");
            } else if silent >= idle / 2 && !pinged {
                socket.mark_pinged();
                socket.ping(self, b"");
            }
        }
    }

    /// Sockets whose connection is still open (JavaScript may not have
    /// released them yet).
    pub(crate) fn running(&self) -> u32 {
        self.counters.running.load(Ordering::Relaxed) as u32
    }

    /// Closes every socket with `code` (server shutdown: 1001).
    pub(crate) fn close_all(&self, code: u16, reason: &[u8]) {
        let sockets: Vec<Arc<Socket>> = self.table.read().iter().flatten().cloned().collect();
        for socket in sockets {
            socket.close(self, code, reason);
        }
    }
}

/// How long a socket that sent its close frame waits for the client's.
const CLOSE_WAIT_MS: u64 = 5_000;
/// Period of the idle sweep: fine enough for short test timeouts, one scan
/// of the table a quarter second otherwise.
const SWEEP_MS: u64 = 250;

fn slot_pair(slot: u32, generation: u32) -> Bytes {
    let mut pair = Vec::with_capacity(8);
    pair.extend_from_slice(&slot.to_le_bytes());
    pair.extend_from_slice(&generation.to_le_bytes());
    pair.into()
}

fn unsubscribe(topics: &mut HashMap<Box<[u8]>, HashSet<u32>>, topic: &[u8], index: u32) {
    if let Some(set) = topics.get_mut(topic) {
        set.remove(&index);
        if set.is_empty() {
            topics.remove(topic);
        }
    }
}

/// Runs the idle sweep while the server lives.
pub(crate) async fn sweep(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(SWEEP_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if shared.slots.is_closed() {
            return;
        }
        if let Some(hub) = &shared.ws {
            hub.sweep(shared.now_ms());
        }
    }
}
