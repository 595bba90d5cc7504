//! Every `extern "C"` function of the library. Each goes through `guard!`,
//! which catches panics (a Rust panic must never abort Deno) and turns them
//! into an error code plus a message for `ferry_last_error`.
//!
//! Calls made per batch take and return numbers only, so V8 can use its
//! fast-call path; pointers are handed out once, at start-up.

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::config::ServerConfig;
use crate::layout::ABI_VERSION;
use crate::local::Local;
use crate::server::Server;
use crate::slots::Woken;

/// Error codes returned (as negative numbers) by the exported functions.
#[repr(i32)]
pub(crate) enum Code {
    /// Arguments did not make sense (unknown server id, bad lengths).
    BadArgument = -1,
    /// The server is closed.
    Closed = -2,
    /// The call failed; `ferry_last_error` says why.
    Failed = -3,
    /// Rust panicked; `ferry_last_error` holds the panic message.
    Panicked = -4,
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_error(message: impl Into<String>) {
    LAST_ERROR.with(|e| *e.borrow_mut() = message.into());
}

macro_rules! guard {
    ($panic_value:expr, $body:block) => {{
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(payload) => {
                let detail = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                set_error(format!("ferry native code panicked: {detail}"));
                $panic_value
            }
        }
    }};
}

/// A live server and the tag it was started under.
type Tagged = (u32, Arc<Server>);

/// Live servers by index.
static SERVERS: RwLock<Vec<Option<Tagged>>> = RwLock::new(Vec::new());
/// Bumped for every server started, so an id is never reused: a call with
/// the id of a closed server fails even when its index was taken again.
static NEXT_TAG: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
/// Server ids are `index | tag << INDEX_BITS` (kept below 2^31: ids travel
/// as non-negative `i32`s).
const INDEX_BITS: u32 = 12;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const TAG_MASK: u32 = (1 << (31 - INDEX_BITS)) - 1;

/// Runs `f` on server `id`, or answers `Code::BadArgument` for an unknown
/// (or closed) id.
fn on_server(id: u32, f: impl FnOnce(&Server) -> i32) -> i32 {
    server(id).map_or(Code::BadArgument as i32, |s| f(&s))
}

fn server(id: u32) -> Option<Arc<Server>> {
    let servers = SERVERS.read();
    match servers.get((id & INDEX_MASK) as usize) {
        Some(Some((tag, s))) if *tag == id >> INDEX_BITS => Some(s.clone()),
        _ => None,
    }
}

/// # Safety
/// `ptr` must be null or valid for `len` bytes for the returned lifetime.
unsafe fn bytes<'a>(ptr: *const u8, len: u32) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&[]);
    }
    // SAFETY: non-null and valid for `len` bytes (the caller's contract).
    Some(unsafe { std::slice::from_raw_parts(ptr, len as usize) })
}

/// The ABI version; TypeScript refuses a library whose version differs.
#[no_mangle]
pub extern "C" fn ferry_abi_version() -> u32 {
    ABI_VERSION
}

/// Copies the calling thread's last error message into `buf` (UTF-8,
/// truncated to `len`) and returns its full length.
///
/// # Safety
/// `buf` must be null or valid for `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_last_error(buf: *mut u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        LAST_ERROR.with(|e| {
            let e = e.borrow();
            let n = e.len().min(len as usize);
            if !buf.is_null() {
                // SAFETY: `buf` is valid for `len >= n` writable bytes (the
                // caller's contract) and cannot overlap the Rust string.
                unsafe { std::ptr::copy_nonoverlapping(e.as_ptr(), buf, n) };
            }
            e.len() as i32
        })
    })
}

/// Starts a server from a JSON config; returns its id (≥ 0) or a `Code`.
///
/// # Safety
/// `config` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_server_start(config: *const u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `config` is valid for `len` bytes (the caller's contract).
        let Some(json) = (unsafe { bytes(config, len) }) else {
            set_error("config buffer is null");
            return Code::BadArgument as i32;
        };
        let started = ServerConfig::parse(json).and_then(Server::start);
        match started {
            Ok(server) => {
                let mut servers = SERVERS.write();
                let index = servers
                    .iter()
                    .position(Option::is_none)
                    .unwrap_or(servers.len());
                if index > INDEX_MASK as usize {
                    set_error("too many servers open at once (4096)");
                    return Code::Failed as i32;
                }
                if index == servers.len() {
                    servers.push(None);
                }
                let tag = (NEXT_TAG.fetch_add(1, Ordering::Relaxed) & TAG_MASK).max(1);
                servers[index] = Some((tag, Arc::new(server)));
                (index as u32 | tag << INDEX_BITS) as i32
            }
            Err(message) => {
                set_error(message);
                Code::Failed as i32
            }
        }
    })
}

/// The bound port of server `id`.
#[no_mangle]
pub extern "C" fn ferry_server_port(id: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        server(id).map_or(Code::BadArgument as i32, |s| s.local_addr.port() as i32)
    })
}

/// Start of the slot arena (mapped into JS once).
#[no_mangle]
pub extern "C" fn ferry_server_arena(id: u32) -> *mut c_void {
    guard!(std::ptr::null_mut(), {
        server(id).map_or(std::ptr::null_mut(), |s| s.shared.slots.arena_ptr().cast())
    })
}

/// Start of the shared `u32` array `ferry_pump` fills with `(slot,
/// generation)` pairs (`2 * slots` words); a slot with bit 31 set is a
/// request that is over, for JavaScript to release.
#[no_mangle]
pub extern "C" fn ferry_server_drain_ids(id: u32) -> *mut c_void {
    guard!(std::ptr::null_mut(), {
        server(id).map_or(std::ptr::null_mut(), |s| {
            s.shared.slots.drain_ids.as_ptr() as *mut c_void
        })
    })
}

/// Start of the shared `u32` array of commit entries (`slot, generation,
/// op, length`: see `layout::op`), `4 * slots` words.
#[no_mangle]
pub extern "C" fn ferry_server_commit_ids(id: u32) -> *mut c_void {
    guard!(std::ptr::null_mut(), {
        server(id).map_or(std::ptr::null_mut(), |s| {
            s.shared.slots.commit_ids.as_ptr() as *mut c_void
        })
    })
}

/// Start of the server's WebSocket area (`layout::ws`), or null when no
/// route is a WebSocket route. Mapped into JS once.
#[no_mangle]
pub extern "C" fn ferry_ws_area(id: u32) -> *mut c_void {
    guard!(std::ptr::null_mut(), {
        server(id)
            .and_then(|s| s.shared.ws.as_ref().map(|hub| hub.area.ptr().cast()))
            .unwrap_or(std::ptr::null_mut())
    })
}

/// Applies one WebSocket action with its payload in `buf`: a message too
/// large for the outbound area (`layout::ws` kinds). Returns 1 (sent or
/// done), 0 (dropped: the socket is gone or closing), -1 (the socket is
/// closing for backpressure), or a negative `Code`.
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_ws_send(
    id: u32,
    kind: u32,
    socket: u32,
    generation: u32,
    buf: *const u8,
    len: u32,
) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `buf` is valid for `len` bytes (the caller's contract).
        let (Some(s), Some(payload)) = (server(id), unsafe { bytes(buf, len) }) else {
            return Code::BadArgument as i32;
        };
        let Some(hub) = s.shared.ws.as_ref() else {
            return Code::BadArgument as i32;
        };
        // Actions queued before this one go first, in order.
        hub.apply();
        hub.act(kind, socket, generation, payload)
    })
}

/// Copies the payload of the last drain's event with the outside ticket
/// `ticket` (a message larger than the inbound area) into `buf`; returns
/// the bytes copied.
///
/// # Safety
/// `buf` must be valid for `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_ws_take(id: u32, ticket: u32, buf: *mut u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        let Some(s) = server(id) else {
            return Code::BadArgument as i32;
        };
        let Some(hub) = s.shared.ws.as_ref() else {
            return Code::BadArgument as i32;
        };
        if buf.is_null() {
            return Code::BadArgument as i32;
        }
        // SAFETY: `buf` is valid for `len` writable bytes (the caller's
        // contract) and is JavaScript memory, not Rust's.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, len as usize) };
        match hub.take(ticket, out) {
            Some(n) => n as i32,
            None => Code::BadArgument as i32,
        }
    })
}

/// A WebSocket counter, 0 for a server without WebSocket routes.
fn ws(s: &Server, read: impl Fn(&crate::ws::Counters) -> u64) -> f64 {
    s.shared
        .ws
        .as_ref()
        .map_or(0.0, |hub| read(&hub.counters) as f64)
}

/// The one call per batch: commits the first `commit` pairs of the commit
/// array, then (pump engine) drives the runtime without blocking, then
/// copies up to `max` ready slot ids into the drain array and returns the
/// count.
#[no_mangle]
pub extern "C" fn ferry_pump(id: u32, commit: u32, max: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        match server(id) {
            Some(s) if s.shared.slots.is_closed() => Code::Closed as i32,
            Some(s) => s.pump(commit, max) as i32,
            None => Code::BadArgument as i32,
        }
    })
}

/// Blocks (call it `nonblocking` from JS) until slots are ready: 1 ready,
/// 0 timed out, `Code::Closed` once the server closes.
#[no_mangle]
pub extern "C" fn ferry_wait(id: u32, timeout_ms: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        let Some(s) = server(id) else {
            return Code::BadArgument as i32;
        };
        match s.wait(Duration::from_millis(timeout_ms as u64)) {
            Woken::Ready => 1,
            Woken::TimedOut => 0,
            Woken::Closed => Code::Closed as i32,
        }
    })
}

/// Applies the first `n` entries of the commit array (`layout::op`) outside
/// a pump: answers, stream chunks, releases. Returns how many answers were
/// handed over (stale or abandoned ones are skipped).
#[no_mangle]
pub extern "C" fn ferry_commit(id: u32, n: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        on_server(id, |s| s.commit(n, false) as i32)
    })
}

/// Hands a response body too large for the slot to Rust (copied once), for
/// the request `(slot, generation)` JavaScript holds; a stale pair is
/// refused with `Code::BadArgument`.
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_set_body(
    id: u32,
    slot: u32,
    generation: u32,
    buf: *const u8,
    len: u32,
) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `buf` is valid for `len` bytes (the caller's contract).
        let (Some(s), Some(body)) = (server(id), unsafe { bytes(buf, len) }) else {
            return Code::BadArgument as i32;
        };
        if !s.shared.slots.held_by_js(slot, generation) {
            set_error("ferry_set_body: that request is over");
            return Code::BadArgument as i32;
        }
        s.shared.slots.cell(slot).set_body_outside(body.to_vec());
        0
    })
}

/// Hands a stream chunk too large for the slot's response area to the
/// stream of `(slot, generation)` (copied once). Returns 0, or
/// `Code::Closed` when that request is over (the client left).
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_stream_write(
    id: u32,
    slot: u32,
    generation: u32,
    buf: *const u8,
    len: u32,
) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `buf` is valid for `len` bytes (the caller's contract).
        let (Some(s), Some(chunk)) = (server(id), unsafe { bytes(buf, len) }) else {
            return Code::BadArgument as i32;
        };
        if s.stream_write(slot, generation, chunk) {
            0
        } else {
            Code::Closed as i32
        }
    })
}

/// Copies the overflowed request record of `(slot, generation)` into `buf`;
/// returns the bytes copied, or `Code::BadArgument` for a stale pair.
///
/// # Safety
/// `buf` must be valid for `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_read_overflow(
    id: u32,
    slot: u32,
    generation: u32,
    buf: *mut u8,
    len: u32,
) -> i32 {
    guard!(Code::Panicked as i32, {
        let Some(s) = server(id) else {
            return Code::BadArgument as i32;
        };
        if buf.is_null() || !s.shared.slots.held_by_js(slot, generation) {
            return Code::BadArgument as i32;
        }
        let cell = s.shared.slots.cell(slot);
        let stored = cell.overflow_req.lock();
        let Some(data) = stored.as_ref() else {
            return Code::BadArgument as i32;
        };
        let n = data.len().min(len as usize);
        // SAFETY: `buf` is valid for `len >= n` writable bytes (the caller's
        // contract) and cannot overlap the Rust-owned record.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, n) };
        n as i32
    })
}

/// Fills `out` (at least `STATS_LEN` f64s) with the server's counters.
///
/// # Safety
/// `out` must be valid for `len` f64s.
#[no_mangle]
pub unsafe extern "C" fn ferry_server_stats(id: u32, out: *mut f64, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        let Some(s) = server(id) else {
            return Code::BadArgument as i32;
        };
        if out.is_null() {
            return Code::BadArgument as i32;
        }
        let c = &s.shared.slots.counters;
        let values = [
            c.requests.load(Ordering::Relaxed) as f64,
            c.to_js.load(Ordering::Relaxed) as f64,
            s.shared.native_answers.load(Ordering::Relaxed) as f64,
            c.wakes.load(Ordering::Relaxed) as f64,
            c.full.load(Ordering::Relaxed) as f64,
            c.drained.load(Ordering::Relaxed) as f64,
            c.drains_nonempty.load(Ordering::Relaxed) as f64,
            c.committed.load(Ordering::Relaxed) as f64,
            s.shared.slots.in_use() as f64,
            s.connections() as f64,
            c.abandoned.load(Ordering::Relaxed) as f64,
            c.timeouts.load(Ordering::Relaxed) as f64,
            c.cancelled.load(Ordering::Relaxed) as f64,
            c.streams_open.load(Ordering::Relaxed) as f64,
            c.chunks_in.load(Ordering::Relaxed) as f64,
            c.chunks_out.load(Ordering::Relaxed) as f64,
            c.stream_writes.load(Ordering::Relaxed) as f64,
            ws(&s, |w| w.open.load(Ordering::Relaxed)),
            ws(&s, |w| w.opened.load(Ordering::Relaxed)),
            ws(&s, |w| w.messages_in.load(Ordering::Relaxed)),
            ws(&s, |w| w.messages_out.load(Ordering::Relaxed)),
            ws(&s, |w| w.frames_out.load(Ordering::Relaxed)),
            ws(&s, |w| w.publishes.load(Ordering::Relaxed)),
            ws(&s, |w| w.dropped.load(Ordering::Relaxed)),
        ];
        let n = values.len().min(len as usize);
        // SAFETY: `out` is valid for `len >= n` f64s (the caller's contract).
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, n) };
        n as i32
    })
}

/// Starts accepting connections (once TypeScript's start-up hooks ran).
#[no_mangle]
pub extern "C" fn ferry_server_begin(id: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        on_server(id, |s| {
            s.begin_accepting();
            0
        })
    })
}

/// Stops accepting and asks open connections to finish and close; returns
/// at once with the connections still open (watch them with
/// `ferry_server_stats` while answering the rest).
#[no_mangle]
pub extern "C" fn ferry_server_shutdown(id: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        on_server(id, |s| {
            s.begin_shutdown();
            s.connections() as i32
        })
    })
}

/// Past the shutdown deadline: answers every request of server `id` still
/// waiting for JavaScript 503 with `Retry-After: 1` (later ones too) and
/// returns how many it answered. The connections send those answers while
/// the runtime keeps running; call `ferry_server_close` after they closed.
#[no_mangle]
pub extern "C" fn ferry_server_expire(id: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        on_server(id, |s| s.expire() as i32)
    })
}

/// Closes server `id`: stops its runtime, releases a parked wait, and frees
/// its memory once the last call using it returns. JavaScript must stop
/// reading the arena first (`lib/server.ts` releases every request it holds
/// before this call, so later reads throw). The id is never valid again.
#[no_mangle]
pub extern "C" fn ferry_server_close(id: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        if server(id).is_none() {
            return Code::BadArgument as i32;
        }
        let taken = SERVERS
            .write()
            .get_mut((id & INDEX_MASK) as usize)
            .and_then(Option::take);
        match taken {
            Some((_, s)) => {
                s.close();
                0
            }
            None => Code::BadArgument as i32,
        }
    })
}

/// Native parts of apps answering through `app.fetch` (see `local.rs`),
/// by id; `ferry_local_close` frees one.
static LOCALS: RwLock<Vec<Option<Arc<Local>>>> = RwLock::new(Vec::new());

fn local(id: u32) -> Option<Arc<Local>> {
    LOCALS.read().get(id as usize).cloned().flatten()
}

/// Builds the native middleware and static mounts of a server config for
/// `app.fetch`; returns its id (≥ 0) or a `Code`.
///
/// # Safety
/// `config` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_local_open(config: *const u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `config` is valid for `len` bytes (the caller's contract).
        let Some(json) = (unsafe { bytes(config, len) }) else {
            return Code::BadArgument as i32;
        };
        match Local::new(json) {
            Ok(made) => {
                let mut locals = LOCALS.write();
                let index = locals
                    .iter()
                    .position(Option::is_none)
                    .unwrap_or(locals.len());
                if index == locals.len() {
                    locals.push(None);
                }
                locals[index] = Some(Arc::new(made));
                index as i32
            }
            Err(message) => {
                set_error(message);
                Code::Failed as i32
            }
        }
    })
}

/// Runs the native request step of `app.fetch` (JSON in `buf`); returns a
/// ticket for `ferry_local_take`, or a `Code`. May read a static file:
/// TypeScript calls it nonblocking.
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_local_request(id: u32, buf: *const u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `buf` is valid for `len` bytes (the caller's contract).
        let (Some(l), Some(json)) = (local(id), unsafe { bytes(buf, len) }) else {
            return Code::BadArgument as i32;
        };
        match l.request(json) {
            Ok(ticket) => (ticket & i32::MAX as u32) as i32,
            Err(message) => {
                set_error(message);
                Code::Failed as i32
            }
        }
    })
}

/// Runs the native response step for `ticket` (JSON status and headers in
/// `buf`); returns the ticket again, or a `Code`.
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_local_response(
    id: u32,
    ticket: u32,
    buf: *const u8,
    len: u32,
) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `buf` is valid for `len` bytes (the caller's contract).
        let (Some(l), Some(json)) = (local(id), unsafe { bytes(buf, len) }) else {
            return Code::BadArgument as i32;
        };
        match l.response(ticket, json) {
            Ok(ticket) => (ticket & i32::MAX as u32) as i32,
            Err(message) => {
                set_error(message);
                Code::Failed as i32
            }
        }
    })
}

/// Copies the output of `ticket` into `buf`; returns its length (larger
/// than `len` when `buf` is too small: the output is kept, call again).
///
/// # Safety
/// `buf` must be valid for `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_local_take(id: u32, ticket: u32, buf: *mut u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        let Some(l) = local(id) else {
            return Code::BadArgument as i32;
        };
        if buf.is_null() {
            return Code::BadArgument as i32;
        }
        // SAFETY: `buf` is valid for `len` writable bytes (the caller's
        // contract) and is JavaScript's memory, which nothing in Rust aliases.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, len as usize) };
        match l.take(ticket, out) {
            Some(n) => i32::try_from(n).unwrap_or(Code::Failed as i32),
            None => Code::BadArgument as i32,
        }
    })
}

/// Forgets `ticket` (TypeScript gave up on that request).
#[no_mangle]
pub extern "C" fn ferry_local_forget(id: u32, ticket: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        match local(id) {
            Some(l) => {
                l.forget(ticket);
                0
            }
            None => Code::BadArgument as i32,
        }
    })
}

/// Frees the native part of an app made by `ferry_local_open`.
#[no_mangle]
pub extern "C" fn ferry_local_close(id: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        match LOCALS.write().get_mut(id as usize) {
            Some(slot @ Some(_)) => {
                *slot = None;
                0
            }
            _ => Code::BadArgument as i32,
        }
    })
}

/// The JavaScript that owns server `id` is going away (`unload`): stops
/// accepting, relays later requests to the next server on its address, and
/// drains up to `max` queued requests into the drain array (as
/// `ferry_pump`) for JavaScript to answer before it calls
/// `ferry_server_orphan`. Returns how many pairs it drained.
#[no_mangle]
pub extern "C" fn ferry_server_detach(id: u32, max: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        on_server(id, |s| s.detach(max) as i32)
    })
}

/// The JavaScript that owned server `id` is gone (`unload` of an isolate
/// that `deno run --watch` replaces): answers its waiting requests 503,
/// offers its listening socket to the next `ferry_server_start` on the same
/// address, and closes it on a helper thread once its connections are done.
/// The id is never valid again.
#[no_mangle]
pub extern "C" fn ferry_server_orphan(id: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        let taken = server(id).and_then(|_| {
            SERVERS
                .write()
                .get_mut((id & INDEX_MASK) as usize)
                .and_then(Option::take)
        });
        match taken {
            Some((_, s)) => {
                s.orphan();
                0
            }
            None => Code::BadArgument as i32,
        }
    })
}

/// Compiles a JSON Schema for `ferry_schema_check` (response checks):
/// the checker's id, or an error code with the reason in `ferry_last_error`.
///
/// # Safety
/// `schema` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_schema_compile(schema: *const u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `schema` is valid for `len` bytes (the caller's contract).
        let Some(json) = (unsafe { bytes(schema, len) }) else {
            set_error("schema buffer is null");
            return Code::BadArgument as i32;
        };
        match crate::validation::checker::compile(json) {
            Ok(id) => id as i32,
            Err(message) => {
                set_error(message);
                Code::Failed as i32
            }
        }
    })
}

/// Checks JSON bytes against checker `id`: 0 when they match, 1 when not
/// (the failing fields in `ferry_last_error`), or an error code.
///
/// # Safety
/// `json` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_schema_check(id: u32, json: *const u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `json` is valid for `len` bytes (the caller's contract).
        let Some(json) = (unsafe { bytes(json, len) }) else {
            set_error("body buffer is null");
            return Code::BadArgument as i32;
        };
        match crate::validation::checker::check(id, json) {
            Ok(None) => 0,
            Ok(Some(why)) => {
                set_error(why);
                1
            }
            Err(message) => {
                set_error(message);
                Code::Failed as i32
            }
        }
    })
}

/// Checks a request of `app.fetch` against route `route` of the route set
/// `set` (made by `ferry_routes_compile`). Returns 0 when it passes (the
/// coerced values, JSON, wait in `ferry_last_error`; empty for a route
/// without schemas), the HTTP status of the refusal (400, 415, 422; its
/// problem+json body waits in `ferry_last_error`), or an error code.
///
/// # Safety
/// `head` must be valid for `head_len` bytes and `body` for `body_len`.
#[no_mangle]
pub unsafe extern "C" fn ferry_request_check(
    set: u32,
    route: u32,
    head: *const u8,
    head_len: u32,
    body: *const u8,
    body_len: u32,
) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: both are valid for their lengths (the caller's contract).
        let (Some(head), Some(body)) = (unsafe { bytes(head, head_len) }, unsafe {
            bytes(body, body_len)
        }) else {
            set_error("head or body buffer is null");
            return Code::BadArgument as i32;
        };
        match crate::validation::fetch::check(set, route, head, body) {
            Ok(Ok(valid)) => {
                set_error(String::from_utf8(valid.unwrap_or_default()).unwrap_or_default());
                0
            }
            Ok(Err(refusal)) => {
                set_error(String::from_utf8(refusal.body).unwrap_or_default());
                refusal.status.as_u16() as i32
            }
            Err(message) => {
                set_error(message);
                Code::Failed as i32
            }
        }
    })
}

/// Compiles the schemas of a JSON route list for `ferry_request_check`:
/// the set's id, or an error code with the reason in `ferry_last_error`.
///
/// # Safety
/// `routes` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ferry_routes_compile(routes: *const u8, len: u32) -> i32 {
    guard!(Code::Panicked as i32, {
        // SAFETY: `routes` is valid for `len` bytes (the caller's contract).
        let Some(json) = (unsafe { bytes(routes, len) }) else {
            set_error("routes buffer is null");
            return Code::BadArgument as i32;
        };
        match crate::validation::fetch::compile(json) {
            Ok(id) => id as i32,
            Err(message) => {
                set_error(message);
                Code::Failed as i32
            }
        }
    })
}
