//! The request path: limits, native middleware, static files, routing, and
//! then a const answer or a slot handed to TypeScript.
//!
//! Every request costs one hand-written future, [`Reply`], that hyper stores
//! inline: the common path (no body, no static mount) runs synchronously
//! inside [`Service::call`] up to the wait for the slot's answer, so there
//! is no boxed `async` state machine, no allocation, and one `Arc` clone per
//! request. The rare paths (reading a body, static files) run in a boxed
//! future. (Profiles: an unboxed `async` service future of ~1.8 KB cost ~4%
//! of CPU in moves; boxing it cost an allocation and ~2% in `memmove` of the
//! request and response on their way through the nested futures.)

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_LENGTH};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};

use crate::body;
use crate::config::ServerConfig;
use crate::native::Exchange;
use crate::record::{mark_body_stream, write_request, RequestParts};
use crate::response::{body_refused, problem, shutting_down, unavailable, Body};
use crate::router::Routed;
use crate::server::Shared;
use crate::slots::{Answer, Slots};
use crate::stream::body_in::{self, BodyIn, Failure};
use crate::watchdog::Activity;

/// One connection as its requests see it: the server, the connection's
/// watchdog state and the peer. Shared by the connection's requests through
/// one `Arc`, so a request costs a single reference-count bump.
pub(crate) struct Peer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) activity: Arc<Activity>,
    pub(crate) addr: SocketAddr,
    /// `ip:port`, formatted once per connection.
    pub(crate) text: Box<str>,
}

/// The hyper service of one connection.
pub(crate) struct Service(pub(crate) Arc<Peer>);

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Reply;

    fn call(&self, req: Request<Incoming>) -> Reply {
        Reply::new(self.0.clone(), req)
    }
}

/// Who produced a response, for the counters.
enum Answered {
    Native(Response<Body>),
    Js(Response<Body>),
}

/// Where a request stands.
enum State {
    /// Answered by Rust (native middleware and `on_response` still apply).
    Ready(Option<Response<Body>>),
    /// Refused before native middleware ran (limits): sent as it is.
    Refused(Option<Response<Body>>),
    /// Handed to TypeScript in slot `id`: waiting for its answer.
    Wait(u32),
    /// A body to read or static mounts to try: the boxed slow path.
    Slow(Pin<Box<dyn Future<Output = Answered> + Send>>),
    /// The response was returned.
    Done,
}

/// The future hyper polls for one request's response. Dropped before it
/// finishes (client gone, server closing), it frees its slot.
pub(crate) struct Reply {
    peer: Arc<Peer>,
    exchange: Exchange,
    state: State,
}

impl Reply {
    /// Runs the synchronous start of a request: limits, native middleware,
    /// static-mount check, routing, and publishing to a slot.
    fn new(peer: Arc<Peer>, req: Request<Incoming>) -> Reply {
        peer.activity.request_started();
        let shared = &*peer.shared;
        shared
            .slots
            .counters
            .requests
            .fetch_add(1, Ordering::Relaxed);
        let (mut parts, body) = req.into_parts();
        // HTTP/2 carries the host in `:authority`; handlers read `Host`.
        if let Some(authority) = parts.uri.authority() {
            if !parts.headers.contains_key(http::header::HOST) {
                if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
                    parts.headers.insert(http::header::HOST, value);
                }
            }
        }
        if let Some(refused) = check_limits(shared, &parts) {
            shared.native_answers.fetch_add(1, Ordering::Relaxed);
            return Reply {
                peer,
                exchange: Exchange::default(),
                state: State::Refused(Some(refused)),
            };
        }
        let (early, exchange) = shared.native.on_request(&mut parts, peer.addr);
        let state = match early {
            Some(response) => native(shared, response),
            None => start(&peer, parts, body, &exchange),
        };
        Reply {
            peer,
            exchange,
            state,
        }
    }
}

impl Future for Reply {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = &*this.peer.shared;
        let response = match &mut this.state {
            State::Ready(response) => response.take(),
            State::Refused(response) => {
                let response = response.take();
                this.state = State::Done;
                return Poll::Ready(Ok(response.unwrap_or_else(polled_twice)));
            }
            State::Wait(id) => match poll_answer(&shared.slots, *id, cx) {
                Poll::Ready(Taken::Response(response)) => Some(response),
                Poll::Ready(Taken::Upgrade(response, upgrade, generation)) => Some(
                    crate::ws::accept(&this.peer.shared, upgrade, *id, generation, response),
                ),
                Poll::Pending => return Poll::Pending,
            },
            State::Slow(slow) => match slow.as_mut().poll(cx) {
                Poll::Ready(Answered::Native(response)) => {
                    shared.native_answers.fetch_add(1, Ordering::Relaxed);
                    Some(response)
                }
                Poll::Ready(Answered::Js(response)) => Some(response),
                Poll::Pending => return Poll::Pending,
            },
            State::Done => None,
        };
        this.state = State::Done;
        let response = response.unwrap_or_else(polled_twice);
        Poll::Ready(Ok(shared.native.on_response(&this.exchange, response)))
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let State::Wait(id) = self.state {
            abandon(&self.peer.shared.slots, id);
        }
        self.peer.activity.request_ended(self.peer.shared.now_ms());
    }
}

/// hyper never polls a finished future; answer 500 rather than panic.
fn polled_twice() -> Response<Body> {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the response was already taken",
    )
}

/// An answer Rust gave alone.
fn native(shared: &Shared, response: Response<Body>) -> State {
    shared.native_answers.fetch_add(1, Ordering::Relaxed);
    State::Ready(Some(response))
}

fn start(peer: &Arc<Peer>, mut parts: Parts, body: Incoming, exchange: &Exchange) -> State {
    let shared = &*peer.shared;
    let static_path = shared.statics.covers(parts.uri.path());
    if static_path || !body.is_end_stream() {
        return State::Slow(Box::pin(slow(peer.clone(), parts, body, static_path)));
    }
    let connect = shared.ws.is_some() && crate::ws::handshake::is_extended_connect(&parts);
    if connect {
        // Routed, and seen by JavaScript, as the GET of an HTTP/1.1 handshake.
        parts.method = http::Method::GET;
    }
    let (route, params) = match route(shared, &parts) {
        Ok(found) => found,
        Err(answer) => return native(shared, answer),
    };
    let upgrade = match websocket(shared, &mut parts, route, exchange, connect) {
        Ok(upgrade) => upgrade,
        Err(answer) => return native(shared, answer),
    };
    match publish(shared, peer, &parts, route, &params, &Bytes::new(), None) {
        Ok(id) => {
            if let Some(upgrade) = upgrade {
                // JavaScript cannot have answered yet: this task polls the
                // answer, and it is still here.
                shared.slots.cell(id).set_upgrade(upgrade);
            }
            State::Wait(id)
        }
        Err(answer) => native(shared, answer),
    }
}

/// For a request to a WebSocket route: the upgrade to keep until
/// JavaScript answers, or Rust's own answer to a request that cannot
/// upgrade (426, 400, 503 when every socket is taken).
#[allow(clippy::result_large_err)] // the error is the answer itself
fn websocket(
    shared: &Shared,
    parts: &mut Parts,
    route: u32,
    exchange: &Exchange,
    extended_connect: bool,
) -> Result<Option<crate::ws::PendingUpgrade>, Response<Body>> {
    let Some(hub) = shared.ws.as_ref().filter(|hub| hub.is_ws_route(route)) else {
        if extended_connect {
            let detail = "no WebSocket route matches this path";
            return Err(problem(StatusCode::NOT_FOUND, detail));
        }
        return Ok(None);
    };
    let accept = match crate::ws::handshake::check(parts, extended_connect) {
        crate::ws::handshake::Handshake::Upgrade(accept) => accept,
        crate::ws::handshake::Handshake::Refused(answer) => return Err(answer),
    };
    if !shared.native.allows_socket(exchange, parts) {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "cors() does not allow WebSockets from this Origin",
        ));
    }
    if !hub.has_room() {
        return Err(unavailable(
            "every WebSocket this server allows is open; retry shortly",
        ));
    }
    let Some(on) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "this connection cannot be upgraded",
        ));
    };
    Ok(Some(crate::ws::PendingUpgrade { on, accept, route }))
}

/// `static_path`: a static mount covers the path (decided once, in `start`).
async fn slow(peer: Arc<Peer>, parts: Parts, body: Incoming, static_path: bool) -> Answered {
    let shared = &*peer.shared;
    if static_path {
        if let Some(response) = shared.statics.serve(&parts).await {
            return Answered::Native(response);
        }
    }
    let (route, params) = match route(shared, &parts) {
        Ok(found) => found,
        Err(answer) => return Answered::Native(answer),
    };
    if shared.ws.as_ref().is_some_and(|hub| hub.is_ws_route(route)) {
        return Answered::Native(problem(
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade request has no body",
        ));
    }
    let limit = shared.body_limits.get(route as usize).copied();
    let limit = limit.unwrap_or(shared.config.max_body_bytes);
    // A route with a body schema validates the body before JavaScript
    // runs, so it reads it whole (up to its limit) instead of streaming.
    let whole = shared.validation.reads_body(route);
    let body = match start_body(&shared.config, &parts.headers, body, limit, whole).await {
        Ok(body) => body,
        Err(answer) => return Answered::Native(answer),
    };
    let (whole, rest) = match body {
        BodyStart::Whole(bytes) => (bytes, None),
        BodyStart::Streaming { first, incoming } => {
            let seen = first.len() as u64;
            let body_in = Arc::new(BodyIn::default());
            (Bytes::new(), Some((body_in, first, incoming, seen)))
        }
    };
    let streamed = rest.as_ref().map(|(body_in, ..)| body_in.clone());
    let published = publish(shared, &peer, &parts, route, &params, &whole, streamed);
    // The slot holds a copy now: don't keep the body alive across the wait.
    drop((whole, params, parts));
    let id = match published {
        Ok(id) => id,
        Err(answer) => return Answered::Native(answer),
    };
    let wait = JsWait {
        slots: &shared.slots,
        id,
        done: false,
    };
    let Some((body_in, first, incoming, seen)) = rest else {
        return Answered::Js(wait.await);
    };
    Answered::Js(stream_body(shared, id, wait, body_in, first, incoming, seen, limit).await)
}

/// Waits for the answer to slot `id` while its body streams in: a body
/// that grows past `limit`, stalls, or breaks is answered 413, 408 or 400
/// (JavaScript is told the request is over, and its body stream fails).
#[allow(clippy::too_many_arguments)]
async fn stream_body(
    shared: &Shared,
    id: u32,
    wait: JsWait<'_>,
    body_in: Arc<BodyIn>,
    first: Bytes,
    incoming: Incoming,
    seen: u64,
    limit: u64,
) -> Response<Body> {
    let slots = &shared.slots;
    let generation = slots.cell(id).generation.load(Ordering::Acquire);
    let idle = Duration::from_millis(shared.config.body_timeout_ms);
    let wake = || slots.body_ready(id, generation);
    if !first.is_empty() && body_in.push_first(first) {
        wake();
    }
    let reader = body_in::read_into(incoming, &body_in, seen, limit, idle, wake);
    let mut reader = std::pin::pin!(reader);
    let mut wait = std::pin::pin!(wait);
    let mut reading = true;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(response) = wait.as_mut().poll(cx) {
            return Poll::Ready(response);
        }
        if reading {
            if let Poll::Ready(read) = reader.as_mut().poll(cx) {
                reading = false;
                if let Err(failure) = read {
                    let (status, detail) = match failure {
                        Failure::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, too_large(limit)),
                        Failure::TooSlow => (
                            StatusCode::REQUEST_TIMEOUT,
                            "the request body arrived too slowly".to_string(),
                        ),
                        Failure::Broken => (
                            StatusCode::BAD_REQUEST,
                            "the request body could not be read".to_string(),
                        ),
                    };
                    slots.answer(id, Some(generation), || body_refused(status, &detail));
                    // Polled again at once: the answer is there.
                    cx.waker().wake_by_ref();
                }
            }
        }
        Poll::Pending
    })
    .await
}

fn too_large(limit: u64) -> String {
    format!("the request body is larger than {limit} bytes")
}

/// Routes the request: the route id and parameters, or the answer Rust
/// gives alone (404, 400, 405, OPTIONS, a const route).
// The error is the answer itself; boxing it would allocate on every 404.
#[allow(clippy::result_large_err)]
fn route(shared: &Shared, parts: &Parts) -> Result<(u32, Vec<String>), Response<Body>> {
    match shared.router.find(parts.method.as_str(), parts.uri.path()) {
        Routed::Found(route, params) => match shared.constants.get(&route) {
            Some(constant) => Err(constant.response()),
            None => Ok((route, params)),
        },
        Routed::NotFound => Err(problem(StatusCode::NOT_FOUND, "no route matches this path")),
        Routed::BadParam => Err(problem(
            StatusCode::BAD_REQUEST,
            "the path is not valid percent-encoded UTF-8",
        )),
        Routed::MethodNotAllowed(allow) => {
            let mut response = if parts.method == http::Method::OPTIONS {
                let mut r = Response::new(body::empty());
                *r.status_mut() = StatusCode::NO_CONTENT;
                r
            } else {
                problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "this path does not answer that method",
                )
            };
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(ALLOW, value);
            }
            Err(response)
        }
    }
}

/// Polls slot `id` for its answer. Once answered, takes the response and
/// lets go of the slot (freed once JavaScript let go too). Handler timeouts
/// answer 504 through the same cell: see `sweep_timeouts`.
fn poll_answer(slots: &Slots, id: u32, cx: &Context<'_>) -> Poll<Taken> {
    let cell = slots.cell(id);
    let mut answer = cell.answer.lock();
    match &mut *answer {
        Answer::Waiting(waker) => {
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            Poll::Pending
        }
        ready => {
            let taken = std::mem::replace(ready, Answer::Idle);
            drop(answer);
            let response = match taken {
                Answer::Ready(response) => response,
                _ => unavailable("the server closed before the handler answered"),
            };
            // A 101 completes a WebSocket handshake: its upgrade is taken
            // while the task still holds the slot (its generation names the
            // request in JavaScript's open event).
            let upgrade = if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                let generation = cell.generation.load(Ordering::Acquire);
                Some((cell.take_upgrade(), generation))
            } else {
                None
            };
            slots.answer_taken(id);
            Poll::Ready(match upgrade {
                None => Taken::Response(response),
                Some((Some(upgrade), generation)) => Taken::Upgrade(response, upgrade, generation),
                Some((None, _)) => Taken::Response(not_a_socket_route()),
            })
        }
    }
}

/// A 101 from a route that is not `app.ws` (nothing to upgrade): 500.
fn not_a_socket_route() -> Response<Body> {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "101 Switching Protocols answers only a WebSocket route (app.ws)",
    )
}

/// An answer taken from a slot.
enum Taken {
    Response(Response<Body>),
    /// A 101 for a WebSocket upgrade, with the slot's generation.
    Upgrade(Response<Body>, crate::ws::PendingUpgrade, u32),
}

/// The request in slot `id` ended before its answer was taken (the client
/// left, the connection closed): the task lets go of the slot. JavaScript,
/// if it holds the request, is told and releases it; only then is the slot
/// freed, so a handler still reading never sees another request's bytes.
fn abandon(slots: &Slots, id: u32) {
    slots.task_done(id);
}

/// A request of the slow path handed to TypeScript: resolves to its
/// answer, or frees the slot when dropped first.
struct JsWait<'a> {
    slots: &'a Slots,
    id: u32,
    done: bool,
}

impl Future for JsWait<'_> {
    type Output = Response<Body>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<Body>> {
        let this = self.get_mut();
        let polled = poll_answer(this.slots, this.id, cx).map(|taken| match taken {
            Taken::Response(response) => response,
            // The slow path never keeps an upgrade.
            Taken::Upgrade(..) => not_a_socket_route(),
        });
        this.done = polled.is_ready();
        polled
    }
}

impl Drop for JsWait<'_> {
    fn drop(&mut self) {
        if !self.done {
            abandon(self.slots, self.id);
        }
    }
}

/// Writes the request into a free slot and hands it to TypeScript: the
/// slot id, or the 503 (with `Retry-After`) of a full arena.
#[allow(clippy::result_large_err)] // the error is the 503 answer itself
fn publish(
    shared: &Shared,
    peer: &Peer,
    parts: &Parts,
    route: u32,
    params: &[String],
    body: &Bytes,
    streamed: Option<Arc<BodyIn>>,
) -> Result<u32, Response<Body>> {
    // Route schemas (src/validation/): a request that fails them is
    // answered here and never reaches JavaScript; one that passes carries
    // its coerced values along.
    let valid = shared.validation.check(route, parts, params, body)?;
    let slots = &shared.slots;
    let Some(id) = slots.acquire() else {
        return Err(unavailable("all request slots are busy; retry shortly"));
    };
    let request = RequestParts {
        route,
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        params,
        headers: &parts.headers,
        body,
        valid: valid.as_deref().unwrap_or_default(),
        remote: &peer.text,
        http2: parts.version == http::Version::HTTP_2,
    };
    write_request(slots, id, &request);
    let cell = slots.cell(id);
    if let Some(body_in) = streamed {
        mark_body_stream(slots, id);
        cell.set_body_in(body_in);
    }
    cell.published_ms.store(shared.now_ms(), Ordering::Relaxed);
    if !slots.begin_waiting(id) {
        // Shutdown passed its deadline (`Server::expire`): JavaScript takes
        // no more requests. Only this task holds the slot: it is freed.
        slots.task_done(id);
        return Err(shutting_down("the server is shutting down"));
    }
    // From here the slot is JavaScript's until it commits; the waiting
    // future frees it once answered, or when the request ends first.
    slots.counters.to_js.fetch_add(1, Ordering::Relaxed);
    slots.publish(id);
    Ok(id)
}

fn check_limits(shared: &Shared, parts: &Parts) -> Option<Response<Body>> {
    let config = &shared.config;
    if shared.closing.load(Ordering::Acquire) && shared.slots.is_closed() {
        return Some(unavailable("the server is shutting down"));
    }
    let target_len = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > config.max_url_bytes as usize {
        return Some(problem(
            StatusCode::URI_TOO_LONG,
            "the request target is too long",
        ));
    }
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > config.max_header_bytes as usize {
        let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        return Some(problem(status, "the request headers are too large"));
    }
    None
}

/// Answers 504 for every request JavaScript has held longer than `limit`
/// (JavaScript is then told it is over, and its release frees the slot).
/// Runs every quarter of the limit: one scan of the arena
/// instead of a timer armed and disarmed for every request.
pub(crate) async fn sweep_timeouts(shared: Arc<Shared>, limit: Duration) {
    let period = (limit / 4).max(Duration::from_millis(5));
    let limit_ms = limit.as_millis() as u64;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if shared.slots.is_closed() {
            return;
        }
        let now = shared.now_ms();
        let slots = &shared.slots;
        let detail = "the handler did not answer in time";
        for id in 0..slots.count {
            // Only a slot still waiting for JavaScript is answered (its age
            // read under the same lock); its task takes the 504 and lets
            // go, JavaScript is told the request is over and releases it,
            // and the handler's late answer is dropped.
            let timeout = || problem(StatusCode::GATEWAY_TIMEOUT, detail);
            if slots.answer_if_older(id, now, limit_ms, timeout) {
                slots.counters.timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A request body: whole (it arrived with the head, or is small), or still
/// arriving (streamed to JavaScript as it comes).
enum BodyStart {
    Whole(Bytes),
    Streaming { first: Bytes, incoming: Incoming },
}

/// Bodies up to this size (declared) are read whole before JavaScript
/// runs; larger or undeclared ones that have not fully arrived stream.
const WHOLE_BELOW: u64 = body_in::WINDOW as u64;

/// Reads what has arrived of the body. A declared length over `limit` is
/// refused before reading (413, no `100 Continue`). `whole`: read it all
/// (within `limit` and the body timeout) whatever its size, for a route
/// that validates its body.
async fn start_body(
    config: &ServerConfig,
    headers: &http::HeaderMap,
    mut body: Incoming,
    limit: u64,
    whole: bool,
) -> Result<BodyStart, Response<Body>> {
    if body.is_end_stream() {
        return Ok(BodyStart::Whole(Bytes::new()));
    }
    let refuse = || body_refused(StatusCode::PAYLOAD_TOO_LARGE, &too_large(limit));
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(refuse());
    }
    let broken = || {
        body_refused(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        )
    };
    let mut got: Vec<Bytes> = Vec::new();
    let mut seen = 0u64;
    // A small body usually arrived with the head: take what is there
    // without arming a timer (a timer per request showed in profiles).
    loop {
        let polled =
            std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await;
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen += data.len() as u64;
                    if seen > limit {
                        return Err(refuse());
                    }
                    got.push(data);
                }
            }
            Poll::Ready(Some(Err(_))) => return Err(broken()),
            Poll::Ready(None) => return Ok(BodyStart::Whole(concat(got))),
            Poll::Pending => break,
        }
    }
    if !whole && declared.is_none_or(|n| n > WHOLE_BELOW) {
        return Ok(BodyStart::Streaming {
            first: concat(got),
            incoming: body,
        });
    }
    // Small and declared (or validated): read the rest whole, within the
    // body timeout.
    let timeout = Duration::from_millis(config.body_timeout_ms);
    let rest = async {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| broken())?.into_data() else {
                continue;
            };
            seen += data.len() as u64;
            if seen > limit {
                return Err(refuse());
            }
            got.push(data);
        }
        Ok(concat(std::mem::take(&mut got)))
    };
    match tokio::time::timeout(timeout, rest).await {
        Ok(Ok(bytes)) => Ok(BodyStart::Whole(bytes)),
        Ok(Err(answer)) => Err(answer),
        Err(_) => Err(body_refused(
            StatusCode::REQUEST_TIMEOUT,
            "the request body arrived too slowly",
        )),
    }
}

/// Joins the frames read so far (usually one: no copy).
fn concat(mut parts: Vec<Bytes>) -> Bytes {
    match parts.len() {
        0 => Bytes::new(),
        1 => parts.pop().unwrap_or_default(),
        _ => {
            let mut out = Vec::with_capacity(parts.iter().map(Bytes::len).sum());
            for part in &parts {
                out.extend_from_slice(part);
            }
            out.into()
        }
    }
}
