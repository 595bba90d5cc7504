//! The request path: limits, native middleware, static files, routing, and
//! then a const answer or a slot handed to TypeScript.
//!
//! The future of every request is kept small on purpose: hyper moves it
//! into place for each request, and at ~1.8 KB the moves and allocation
//! showed up as ~4% of CPU in profiles. So the common path (no body, no
//! static mounts) is synchronous up to one await on the slot's answer, and
//! the rare paths (reading a body, static files) run in a boxed future.

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
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as _, Incoming};

use crate::body;
use crate::config::ServerConfig;
use crate::record::{write_request, RequestParts};
use crate::response::{problem, shutting_down, unavailable, Body};
use crate::router::Routed;
use crate::server::Shared;
use crate::slots::{Answer, Slots};

/// The peer of a connection.
#[derive(Clone, Copy)]
pub(crate) struct Remote<'a> {
    pub(crate) addr: SocketAddr,
    /// `ip:port`, formatted once per connection.
    pub(crate) text: &'a str,
}

/// Who produced a response, for the counters.
enum Answered {
    Native(Response<Body>),
    Js(Response<Body>),
}

/// What the synchronous start of a request decided.
enum Next<'a> {
    Done(Answered),
    /// Handed to TypeScript: wait for the slot's answer.
    Wait(JsWait<'a>),
    /// A body to read or static mounts to try: the boxed slow path.
    Slow(Pin<Box<dyn Future<Output = Answered> + Send + 'a>>),
}

/// Answers one request.
pub(crate) async fn handle(
    shared: &Shared,
    remote: Remote<'_>,
    req: Request<Incoming>,
) -> Response<Body> {
    shared
        .slots
        .counters
        .requests
        .fetch_add(1, Ordering::Relaxed);
    let (mut parts, body) = req.into_parts();
    // HTTP/2 carries the host in `:authority`; handlers read `Host`.
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
                parts.headers.insert(http::header::HOST, value);
            }
        }
    }
    if let Some(refused) = check_limits(shared, &parts) {
        shared.native_answers.fetch_add(1, Ordering::Relaxed);
        return refused;
    }
    let (early, exchange) = shared.native.on_request(&mut parts, remote.addr);
    let next = match early {
        Some(response) => Next::Done(Answered::Native(response)),
        None => start(shared, remote, parts, body),
    };
    let answered = match next {
        Next::Done(answered) => answered,
        Next::Wait(wait) => wait.finish().await,
        Next::Slow(slow) => slow.await,
    };
    let response = match answered {
        Answered::Native(response) => {
            shared.native_answers.fetch_add(1, Ordering::Relaxed);
            response
        }
        Answered::Js(response) => response,
    };
    shared.native.on_response(&exchange, response)
}

fn start<'a>(shared: &'a Shared, remote: Remote<'a>, parts: Parts, body: Incoming) -> Next<'a> {
    let static_path = shared.statics.covers(parts.uri.path());
    if static_path || !body.is_end_stream() {
        return Next::Slow(Box::pin(slow(shared, remote, parts, body, static_path)));
    }
    let (route, params) = match route(shared, &parts) {
        Ok(found) => found,
        Err(answer) => return Next::Done(Answered::Native(answer)),
    };
    match publish(shared, remote, &parts, route, &params, &Bytes::new()) {
        Ok(wait) => Next::Wait(wait),
        Err(answer) => Next::Done(Answered::Native(answer)),
    }
}

/// `static_path`: a static mount covers the path (decided once, in `start`).
async fn slow(
    shared: &Shared,
    remote: Remote<'_>,
    parts: Parts,
    body: Incoming,
    static_path: bool,
) -> Answered {
    if static_path {
        if let Some(response) = shared.statics.serve(&parts).await {
            return Answered::Native(response);
        }
    }
    let (route, params) = match route(shared, &parts) {
        Ok(found) => found,
        Err(answer) => return Answered::Native(answer),
    };
    let body = match read_body(&shared.config, &parts.headers, body).await {
        Ok(body) => body,
        Err(answer) => return Answered::Native(answer),
    };
    match publish(shared, remote, &parts, route, &params, &body) {
        Ok(wait) => wait.finish().await,
        Err(answer) => Answered::Native(answer),
    }
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

/// A request handed to TypeScript: resolves to its answer, then frees the
/// slot. Dropped first (client gone, server closing), it frees the slot
/// itself; bumping the generation makes the late commit a no-op and lets
/// TypeScript notice the slot is no longer its own.
struct JsWait<'a> {
    slots: &'a Slots,
    id: u32,
    done: bool,
}

impl JsWait<'_> {
    async fn finish(self) -> Answered {
        // Handler timeouts are enforced by one sweeper task per server (see
        // `sweep_timeouts`), not a timer per request.
        Answered::Js(self.await)
    }
}

impl Future for JsWait<'_> {
    type Output = Response<Body>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<Body>> {
        let this = self.get_mut();
        let mut answer = this.slots.cell(this.id).answer.lock();
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
                this.done = true;
                this.slots.release(this.id);
                Poll::Ready(match taken {
                    Answer::Ready(response) => response,
                    _ => unavailable("the server closed before the handler answered"),
                })
            }
        }
    }
}

impl Drop for JsWait<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let unanswered = matches!(*self.slots.cell(self.id).answer.lock(), Answer::Waiting(_));
        if unanswered {
            self.slots
                .counters
                .abandoned
                .fetch_add(1, Ordering::Relaxed);
        }
        self.slots.release(self.id);
    }
}

/// Writes the request into a free slot and hands it to TypeScript; a full
/// arena is a 503 with `Retry-After`.
#[allow(clippy::result_large_err)] // the error is the 503 answer itself
fn publish<'a>(
    shared: &'a Shared,
    remote: Remote<'_>,
    parts: &Parts,
    route: u32,
    params: &[String],
    body: &Bytes,
) -> Result<JsWait<'a>, Response<Body>> {
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
        remote: remote.text,
        http2: parts.version == http::Version::HTTP_2,
    };
    write_request(slots, id, &request);
    let cell = slots.cell(id);
    cell.published_ms.store(shared.now_ms(), Ordering::Relaxed);
    if !slots.begin_waiting(id) {
        // Shutdown passed its deadline (`Server::expire`): JavaScript takes
        // no more requests.
        slots.release(id);
        return Err(shutting_down("the server is shutting down"));
    }
    // From here the slot is JavaScript's until it commits; the returned
    // future frees it once answered, or when this request ends first.
    let wait = JsWait {
        slots,
        id,
        done: false,
    };
    slots.counters.to_js.fetch_add(1, Ordering::Relaxed);
    slots.publish(id);
    Ok(wait)
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

/// Answers 504 for every slot JavaScript has held longer than `limit`, and
/// reclaims it. Runs every quarter of the limit: one scan of the arena
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
        for id in 0..slots.count {
            let cell = slots.cell(id);
            if now.saturating_sub(cell.published_ms.load(Ordering::Relaxed)) < limit_ms {
                continue;
            }
            let detail = "the handler did not answer in time";
            // Only a slot still waiting for JavaScript is answered; its task
            // frees it, and the late commit finds it answered or reused.
            if slots.answer(id, None, || problem(StatusCode::GATEWAY_TIMEOUT, detail)) {
                slots.counters.timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn read_body(
    config: &ServerConfig,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<Bytes, Response<Body>> {
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let too_large = || {
        let detail = format!(
            "the request body is larger than {} bytes",
            config.max_body_bytes
        );
        problem(StatusCode::PAYLOAD_TOO_LARGE, &detail)
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_body_bytes) {
        return Err(too_large());
    }
    let limited = Limited::new(body, config.max_body_bytes as usize);
    let timeout = Duration::from_millis(config.body_timeout_ms);
    let mut collect = std::pin::pin!(limited.collect());
    // A small body usually arrived with the head: try once before arming a
    // timer (a timer armed and dropped per request showed in profiles).
    let first = std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await;
    let collected = match first {
        Poll::Ready(done) => Ok(done),
        Poll::Pending => tokio::time::timeout(timeout, collect).await,
    };
    match collected {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(problem(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        )),
        Err(_) => Err(problem(
            StatusCode::REQUEST_TIMEOUT,
            "the request body arrived too slowly",
        )),
    }
}
