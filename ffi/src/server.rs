//! The hyper server: accepts connections, enforces limits, routes, and hands
//! requests that need TypeScript to the slot arena.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::watch;

use bytes::Bytes;

use crate::body;
use crate::config::{Engine, ServerConfig};
use crate::constant::Constants;
use crate::dispatch::{sweep_timeouts, Peer};
use crate::handover::{self, Relay};
use crate::layout::op;
use crate::native::Native;
use crate::response;
use crate::response::Body;
use crate::router::Router;
use crate::slots::{Slots, Woken};
use crate::statics::Statics;
use crate::stream::body_in::Deliver;
use crate::stream::{StreamBody, StreamState, WakeRelay, Wakes, Writable};
use crate::watchdog::{self, Activity, Alarm, Limits, Watch};

/// State shared by every connection task and the JS-facing calls.
pub(crate) struct Shared {
    pub(crate) slots: Arc<Slots>,
    pub(crate) router: Router,
    pub(crate) config: ServerConfig,
    pub(crate) native: Native,
    pub(crate) statics: Statics,
    pub(crate) constants: Constants,
    /// Route schemas, compiled once here (`validation`).
    pub(crate) validation: crate::validation::Validation,
    pub(crate) handler_timeout: Option<Duration>,
    /// Body limit per route id (a route's `bodyLimit`, else `maxBodyBytes`).
    pub(crate) body_limits: Vec<u64>,
    /// WebSockets (`ws`): present when some route is `app.ws`.
    pub(crate) ws: Option<crate::ws::Hub>,
    pub(crate) closing: AtomicBool,
    connections: AtomicU32,
    pub(crate) started: Instant,
    pub(crate) native_answers: AtomicU64,
    /// Milliseconds since `started`, refreshed by a ticker every
    /// `CLOCK_TICK`: timeouts need no finer clock, and reading an atomic is
    /// cheaper than `clock_gettime` twice per request.
    clock_ms: AtomicU64,
    /// Every open connection, for the watchdog.
    watch: Watch,
    /// Its JavaScript is gone (`Server::orphan`): requests relay to the
    /// server that took over the socket (`handover`).
    pub(crate) orphaned: AtomicBool,
    /// That server, once it started.
    pub(crate) successor: parking_lot::Mutex<Option<Arc<Shared>>>,
    /// Wakes requests waiting for `successor`.
    pub(crate) successor_ready: tokio::sync::Notify,
    /// Wakes the stream bodies fed by commits made outside the runtime.
    wake_relay: Arc<WakeRelay>,
}

/// Resolution of the coarse clock.
const CLOCK_TICK: Duration = Duration::from_millis(20);

impl Shared {
    /// Coarse milliseconds since the server started.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock_ms.load(Ordering::Relaxed)
    }
}

impl watchdog::Clock for Shared {
    fn now_ms(&self) -> u64 {
        Shared::now_ms(self)
    }
}

/// The watchdog task: idle, header and send timeouts and graceful shutdown
/// for every connection, one look every `watchdog::PERIOD`.
async fn watch_connections(shared: Arc<Shared>) {
    let limits = Limits {
        idle_ms: shared.config.keep_alive_timeout_ms,
        header_ms: shared.config.header_timeout_ms,
        send_ms: shared.config.send_timeout_ms,
    };
    watchdog::run(|| {
        if shared.slots.is_closed() {
            return false;
        }
        let closing = shared.closing.load(Ordering::Acquire);
        shared.watch.check(shared.now_ms(), closing, limits);
        true
    })
    .await;
}

async fn tick_clock(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(CLOCK_TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while !shared.slots.is_closed() {
        ticker.tick().await;
        let now = shared.started.elapsed().as_millis() as u64;
        shared.clock_ms.store(now, Ordering::Relaxed);
    }
}

/// A running server: its runtime, its listener task and its shared state.
pub(crate) struct Server {
    pub(crate) shared: Arc<Shared>,
    runtime: parking_lot::Mutex<Option<Arc<Runtime>>>,
    engine: Engine,
    stop_accepting: watch::Sender<bool>,
    start_accepting: watch::Sender<bool>,
    /// The bound address (the real port when 0 was asked for).
    pub(crate) local_addr: SocketAddr,
    /// This server's parked socket in `handover`.
    handover_key: u64,
}

/// How long an orphaned server (its JavaScript gone) keeps relaying the
/// requests of its open connections before its runtime stops; idle
/// keep-alive connections close sooner (their idle timeout).
const ORPHAN_LIFETIME: Duration = Duration::from_secs(60);

impl Server {
    /// Binds, starts the runtime and begins accepting.
    pub(crate) fn start(config: ServerConfig) -> Result<Server, String> {
        let mut router = Router::default();
        for route in &config.routes {
            router.add(&route.method, &route.path, route.id)?;
        }
        let addr = format!("{}:{}", config.hostname, config.port);
        // Under `deno run --watch`, the reloaded module's server takes over
        // the socket of the server its previous version left (`handover`).
        let (listener, predecessor) = match handover::take_orphaned(&addr) {
            Some(taken) => (taken.socket, Some(taken.predecessor)),
            None => (
                crate::listen::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?,
                None,
            ),
        };
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let fixed_port = config.port != 0;
        let local_addr = listener.local_addr().map_err(|e| e.to_string())?;
        let engine = config.engine;
        let runtime = match engine {
            Engine::Thread => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(config.threads as usize)
                .thread_name("ferry-io")
                .enable_all()
                .build(),
            Engine::Pump => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
        }
        .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        let slots = Arc::new(Slots::new(
            config.slots,
            config.request_slot_bytes as usize,
            config.response_slot_bytes as usize,
        ));
        let native = Native::from_config(&config.native)?;
        let native_timeout = native.handler_timeout();
        let statics = Statics::from_config(&config.statics)?;
        let constants = Constants::from_routes(&config.routes)?;
        let validation = crate::validation::Validation::from_routes(&config.routes)?;
        let mut body_limits = vec![config.max_body_bytes; config.routes.len()];
        for route in &config.routes {
            if let Some(limit) = body_limits.get_mut(route.id as usize) {
                *limit = route.body_limit.unwrap_or(config.max_body_bytes);
            }
        }
        let ws = crate::ws::Hub::new(&config.routes, config.max_sockets, slots.clone());
        let shared = Arc::new(Shared {
            slots,
            router,
            native,
            statics,
            constants,
            validation,
            handler_timeout: native_timeout.or(match config.handler_timeout_ms {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            }),
            body_limits,
            ws,
            config,
            closing: AtomicBool::new(false),
            connections: AtomicU32::new(0),
            started: Instant::now(),
            native_answers: AtomicU64::new(0),
            clock_ms: AtomicU64::new(0),
            watch: Watch::default(),
            orphaned: AtomicBool::new(false),
            successor: parking_lot::Mutex::new(None),
            successor_ready: tokio::sync::Notify::new(),
            wake_relay: Arc::default(),
        });
        let handover_key = handover::next_key();
        if fixed_port {
            handover::park(handover_key, &addr, &listener, Arc::downgrade(&shared))?;
        }
        if let Some(predecessor) = predecessor {
            handover::link(&predecessor, &shared);
        }
        let (stop_accepting, stop_rx) = watch::channel(false);
        // Accepting waits for `begin_accepting`, so start-up hooks finish
        // before the first connection is taken; the kernel queues the rest.
        let (start_accepting, start_rx) = watch::channel(false);
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(listener).map_err(|e| e.to_string())?
        };
        runtime.spawn(accept_loop(listener, shared.clone(), start_rx, stop_rx));
        runtime.spawn(tick_clock(shared.clone()));
        runtime.spawn(watch_connections(shared.clone()));
        runtime.spawn(shared.wake_relay.clone().run());
        if let Some(limit) = shared.handler_timeout {
            runtime.spawn(sweep_timeouts(shared.clone(), limit));
        }
        if shared.ws.is_some() {
            runtime.spawn(crate::ws::sweep(shared.clone()));
        }
        let runtime = parking_lot::Mutex::new(Some(Arc::new(runtime)));
        Ok(Server {
            shared,
            runtime,
            engine,
            stop_accepting,
            start_accepting,
            local_addr,
            handover_key,
        })
    }

    fn runtime(&self) -> Option<Arc<Runtime>> {
        self.runtime.lock().clone()
    }

    /// Pump engine: runs ready tasks and polls I/O without blocking, twice
    /// (so a request read in the first poll is parsed and routed in the
    /// second), then drains up to `max` ready ids. Thread engine: drains.
    pub(crate) fn pump(&self, commit: u32, max: u32) -> u32 {
        if self.engine == Engine::Pump {
            if let Some(rt) = self.runtime() {
                // Committing inside block_on wakes the waiting tasks on the
                // local run queue: no cross-thread unpark, no syscall.
                rt.block_on(async {
                    self.commit(commit, true);
                    tokio::task::yield_now().await;
                    tokio::task::yield_now().await;
                });
            }
        } else {
            self.commit(commit, false);
        }
        let n = self.shared.slots.drain(max);
        if let Some(hub) = &self.shared.ws {
            hub.drain();
        }
        n
    }

    /// Parks until requests are ready, the timeout passes or the server
    /// closes. The pump engine drives the runtime on this thread meanwhile.
    pub(crate) fn wait(&self, timeout: Duration) -> Woken {
        let slots = &self.shared.slots;
        match (self.engine, self.runtime()) {
            (Engine::Pump, Some(rt)) => rt.block_on(slots.park_async(timeout)),
            (Engine::Pump, None) => Woken::Closed,
            (Engine::Thread, _) => slots.park(timeout),
        }
    }

    /// Starts taking connections (after the start-up hooks ran).
    pub(crate) fn begin_accepting(&self) {
        let _ = self.start_accepting.send(true);
    }

    /// Stops accepting and asks every connection to finish its requests and
    /// close. Returns at once; JS watches `connections()` fall to zero while
    /// it keeps answering.
    pub(crate) fn begin_shutdown(&self) {
        self.shared.closing.store(true, Ordering::Release);
        let _ = self.stop_accepting.send(true);
    }

    /// For `shutdown()` past its deadline: answers every request still
    /// waiting for JavaScript 503 (`Retry-After: 1`, `Connection: close`),
    /// and any request that would reach JavaScript later the same way. The
    /// connections write those answers and close while the runtime runs on
    /// (pump engine: while JS keeps pumping); a handler's late answer is
    /// dropped, its slot being free or reused. Returns how many it answered.
    pub(crate) fn expire(&self) -> u32 {
        self.begin_shutdown();
        if let Some(hub) = &self.shared.ws {
            hub.close_all(1001, b"the server is shutting down");
        }
        self.shared
            .slots
            .expire(|| response::shutting_down("the server shut down before the handler answered"))
    }

    /// Stops the runtime and releases a parked JS wait. Connections still
    /// open are dropped with the runtime; so are their slots (`shutdown()`
    /// calls `expire` first, so none of them waits for JS any more).
    pub(crate) fn close(&self) {
        // An orphan's socket stays parked until the reloaded module takes
        // it (or the process ends): closing it would refuse connections in
        // between. A normal close releases the port.
        if !self.shared.orphaned.load(Ordering::Acquire) {
            handover::forget(self.handover_key);
        }
        self.shared.closing.store(true, Ordering::Release);
        let _ = self.stop_accepting.send(true);
        self.shared.slots.close();
        // The runtime (and with it the logger) is dropped on a helper
        // thread that a process exiting right after shutdown may not wait
        // for: the access log's last lines are written here, synchronously.
        self.shared.native.flush_log();
        if let Some(rt) = self.runtime.lock().take() {
            // Drop it on a helper thread: a pump-mode wait may still hold a
            // clone for a moment, and dropping must not block the JS thread.
            std::thread::spawn(move || {
                if let Ok(rt) = Arc::try_unwrap(rt) {
                    rt.shutdown_timeout(Duration::from_millis(100));
                }
            });
        }
    }

    /// First step of `orphan`, while the owning JavaScript still runs (its
    /// `unload`): stop accepting, relay every later request (`handover`),
    /// and drain up to `max` requests already queued, so JavaScript can
    /// answer those whose handlers are synchronous before it goes. No
    /// runtime is driven here: a parked pump-engine wait may hold it.
    pub(crate) fn detach(&self, max: u32) -> u32 {
        self.shared.orphaned.store(true, Ordering::Release);
        let _ = self.stop_accepting.send(true);
        if max == 0 {
            return 0;
        }
        self.shared.slots.drain(max)
    }

    /// The JavaScript that owned this server is gone (its isolate was
    /// replaced by `deno run --watch`): stop accepting, answer 503 to every
    /// request it held or had not drained yet, relay later requests of open
    /// connections to the server that takes over the socket, offer the
    /// socket to it, and close once the connections are gone (at most
    /// `ORPHAN_LIFETIME`). Nobody pumps this server any more, so a helper
    /// thread drives its runtime meanwhile. Not `begin_shutdown`: that would
    /// close keep-alive connections a client may be sending on right now.
    pub(crate) fn orphan(self: Arc<Self>) {
        self.detach(0);
        self.shared
            .slots
            .expire(|| response::shutting_down("the module that owned this server was reloaded"));
        // Its handlers are gone: sockets close (1001) so their clients
        // reconnect, to the server the reloaded module starts.
        if let Some(hub) = &self.shared.ws {
            hub.close_all(1001, b"the server is reloading");
        }
        handover::orphan(self.handover_key);
        std::thread::spawn(move || {
            let deadline = Instant::now() + ORPHAN_LIFETIME;
            let sockets = |s: &Server| s.shared.ws.as_ref().map_or(0, |hub| hub.running());
            if let Some(rt) = self.runtime() {
                rt.block_on(async {
                    while self.connections() + sockets(&self) > 0 && Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                });
            }
            self.close();
        });
    }

    /// Applies the first `n` entries of the commit array (`layout::op`):
    /// answers (JavaScript lets go; a waiting task gets the answer written
    /// in the response record), stream heads, chunks, credit requests and
    /// ends, and releases of requests that are over. A stale entry changes
    /// nothing. Returns how many answers and heads were handed over.
    /// `inside`: called inside the runtime (`block_on` on this thread), so
    /// the stream bodies fed are woken directly, else through the relay.
    pub(crate) fn commit(&self, n: u32, inside: bool) -> u32 {
        if let Some(hub) = &self.shared.ws {
            hub.apply();
        }
        if n == 0 {
            return 0;
        }
        let slots = &self.shared.slots;
        let n = n.min(slots.count);
        let mut sent = 0;
        let mut wakes = Wakes::default();
        for i in 0..n as usize {
            let word = |k: usize| slots.commit_ids[op::WORDS * i + k].load(Ordering::Relaxed);
            let (id, generation, ops, length) = (word(0), word(1), word(2), word(3));
            if id >= slots.count {
                continue;
            }
            if ops == op::ANSWER {
                if slots.commit(id, generation, || self.answer_from_record(id, None)) {
                    sent += 1;
                }
                continue;
            }
            if ops & op::HEAD != 0 && self.commit_head(id, generation) {
                sent += 1;
            }
            self.commit_stream(id, generation, ops, length, &mut wakes);
        }
        if inside {
            wakes.wake();
        } else {
            self.shared.wake_relay.hand(wakes);
        }
        slots
            .counters
            .committed
            .fetch_add(n as u64, Ordering::Relaxed);
        sent
    }

    /// The answer (or head) JavaScript wrote in slot `id`'s response record.
    fn answer_from_record(
        &self,
        id: u32,
        stream: Option<Box<dyn FnOnce(Bytes) -> Body>>,
    ) -> http::Response<Body> {
        let slots = &self.shared.slots;
        let outside = slots.cell(id).take_body_outside();
        // SAFETY: JavaScript holds the slot and finished writing the response
        // record before this call, on this same thread.
        let record = unsafe { slots.res(id) };
        let built = match stream {
            None => response::from_record(record, outside),
            Some(body) => response::head_from_record(record, outside, body),
        };
        built.unwrap_or_else(response::malformed)
    }

    /// A streamed answer's head: the waiting task gets a response whose
    /// body is fed by later chunks. Returns whether it was handed over (a
    /// request already over gets no stream; JavaScript is told as usual).
    fn commit_head(&self, id: u32, generation: u32) -> bool {
        let shared = &self.shared;
        let slots = &shared.slots;
        if !slots.held_by_js(id, generation) {
            return false;
        }
        let state = Arc::new(StreamState::default());
        slots.cell(id).set_stream(state.clone());
        let owner = shared.slots.clone();
        slots.answer(id, Some(generation), || {
            let first = move |chunk: Bytes| {
                state.push(chunk);
                // Only now, under the answer's lock with the task waiting,
                // does the body take its hold: a head whose request is over
                // builds no body.
                owner.attach_body(id);
                body::streamed(StreamBody::new(state, owner, id, generation))
            };
            self.answer_from_record(id, Some(Box::new(first)))
        })
    }

    /// The chunk, credit and end parts of a commit entry for a stream.
    fn commit_stream(&self, id: u32, generation: u32, ops: u32, length: u32, wakes: &mut Wakes) {
        let slots = &self.shared.slots;
        if ops & op::RELEASE != 0 {
            slots.release(id, generation);
            return;
        }
        if ops & op::PULL != 0 {
            if let Some(body) = slots.body_in(id, generation) {
                if let Deliver::Now = body.pull() {
                    slots.body_ready(id, generation);
                }
            }
            if ops == op::PULL {
                return;
            }
        }
        let Some(stream) = slots.stream(id, generation) else {
            // Over already (client gone): JavaScript still lets go.
            if ops & (op::END | op::ABORT) != 0 {
                slots.release(id, generation);
            }
            return;
        };
        if ops & op::CHUNK != 0 && length > 0 {
            let length = (length as usize).min(slots.res_bytes);
            // SAFETY: JavaScript holds the slot and wrote the chunk into its
            // response area before this call, on this same thread.
            let area = unsafe { slots.res(id) };
            stream.push(Bytes::copy_from_slice(&area[..length]));
            slots.counters.chunks_in.fetch_add(1, Ordering::Relaxed);
        }
        if ops & op::WAIT != 0 {
            if let Writable::Now = stream.want_writable() {
                slots.writable(id, generation);
            }
        }
        if ops & (op::END | op::ABORT) != 0 {
            stream.finish(ops & op::ABORT != 0);
            slots.release(id, generation);
        }
        // Also for a chunk `ferry_stream_write` queued before this entry.
        wakes.add(&stream);
    }

    /// A chunk too large for the slot's response area, handed over in one
    /// call (`ferry_stream_write`). Returns whether the stream took it.
    /// The body is woken by the commit entry JavaScript sends right after
    /// (`op::CHUNK` with length 0), inside the pump when it can.
    pub(crate) fn stream_write(&self, id: u32, generation: u32, chunk: &[u8]) -> bool {
        let slots = &self.shared.slots;
        let Some(stream) = slots.stream(id, generation) else {
            return false;
        };
        stream.push(Bytes::copy_from_slice(chunk));
        slots.counters.chunks_in.fetch_add(1, Ordering::Relaxed);
        slots.counters.stream_writes.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Open connections.
    pub(crate) fn connections(&self) -> u32 {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut start: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::select! {
        _ = start.wait_for(|go| *go) => {}
        _ = stop.wait_for(|s| *s) => return,
    }
    // The protocol layers' coarse bounds on a request head, so an oversized
    // one is refused before it is buffered whole; `dispatch::check_limits`
    // then applies the exact `maxHeaderBytes` rule to both protocols. The
    // 1 KiB of slack covers HTTP/1's request line and HTTP/2's per-field
    // overhead (RFC 9113 §6.5.2 counts 32 bytes a field, Ferry 4).
    let head_bound = shared.config.max_header_bytes.saturating_add(1024);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Enforced by the watchdog (`watchdog`): hyper's timer is armed and
        // disarmed on every request.
        .header_read_timeout(None)
        .max_buf_size((head_bound as usize).max(8192))
        // Not `pipeline_flush(true)`, though it would let pipelined answers
        // share one send(2): hyper 1.12's `Buffered::poll_flush` skips the
        // flush while its read buffer holds bytes, and after a parse error
        // the 400 stays unsent before `poll_shutdown` (8 tests in
        // tests/hostile_test.ts fail with it on).
        .keep_alive(true)
        // Queued writes: a streamed chunk reaches the kernel without being
        // copied into a flat buffer. Small answers still leave in one send(2):
        // the watchdog's stream joins pieces under 16 KiB (`coalesce`).
        .writev(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        // Without it hyper's 16 KiB default applies, whatever maxHeaderBytes says.
        .max_header_list_size(head_bound)
        .max_concurrent_streams(256);
    if shared.ws.is_some() {
        // WebSockets over HTTP/2 (RFC 8441): `SETTINGS_ENABLE_CONNECT_PROTOCOL`,
        // so clients may send an extended CONNECT (`:protocol websocket`).
        builder.http2().enable_connect_protocol();
    }
    let builder = Arc::new(builder);
    loop {
        tokio::select! {
            // Stop first: once stopped, the socket may be handed over to
            // another server (`handover`), which must get every connection.
            biased;
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    shared.connections.fetch_add(1, Ordering::AcqRel);
                    tokio::spawn(serve_connection(builder.clone(), stream, remote, shared.clone()));
                }
                // Out of file descriptors and the like: back off, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

async fn serve_connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    shared: Arc<Shared>,
) {
    let watched = shared.watch.add(shared.now_ms());
    let activity = watched.activity.clone();
    let service = Relay(Arc::new(Peer {
        shared: shared.clone(),
        activity: activity.clone(),
        addr: remote,
        text: remote.to_string().into(),
    }));
    let io = TokioIo::new(watchdog::Stream::new(
        stream,
        activity.clone(),
        shared.clone(),
    ));
    // Only a server with WebSocket routes lets hyper hand connections over
    // (upgrades); the others keep the plain connection future.
    if shared.ws.is_some() {
        drive(
            builder.serve_connection_with_upgrades(io, service),
            &activity,
        )
        .await;
    } else {
        drive(builder.serve_connection(io, service), &activity).await;
    }
    drop(watched);
    shared.connections.fetch_sub(1, Ordering::AcqRel);
}

/// Polls a connection until it ends, closing it gracefully on the
/// watchdog's `Close` alarm and dropping it on `Drop`.
async fn drive<C: GracefulConnection>(conn: C, activity: &Activity) {
    tokio::pin!(conn);
    // The watchdog (see `watchdog`) raises alarms; polling checks an atomic
    // and registers the waker: no timer of our own per connection.
    let mut closing = false;
    std::future::poll_fn(|cx| loop {
        match activity.alarm() {
            Alarm::Drop => return Poll::Ready(()),
            Alarm::Close if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ => {}
        }
        if conn.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        let seen = activity.alarm();
        if activity.register(cx) == seen {
            return Poll::Pending;
        }
    })
    .await;
}
