//! The end of a handshake JavaScript accepted: the answer's headers, then
//! the connection taken back from hyper and run as a socket.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use http::Response;
use hyper_util::rt::TokioIo;

use super::socket;
use crate::response::Body;
use crate::server::Shared;

/// An upgrade JavaScript has not answered yet, kept with its slot.
pub(crate) struct PendingUpgrade {
    pub(crate) on: hyper::upgrade::OnUpgrade,
    /// `Sec-WebSocket-Accept`; `None` for HTTP/2 (RFC 8441), answered 200.
    pub(crate) accept: Option<HeaderValue>,
    pub(crate) route: u32,
}

/// Completes the handshake JavaScript accepted (it answered 101): adds the
/// upgrade headers, and once hyper has sent the response, runs the socket.
pub(crate) fn accept(
    shared: &Arc<Shared>,
    pending: PendingUpgrade,
    slot: u32,
    slot_generation: u32,
    mut response: Response<Body>,
) -> Response<Body> {
    let headers = response.headers_mut();
    headers.remove(http::header::CONTENT_LENGTH);
    headers.remove(http::header::CONTENT_TYPE);
    match pending.accept {
        Some(accept) => {
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        // HTTP/2: a 2xx to the extended CONNECT opens the stream as the socket.
        None => *response.status_mut() = http::StatusCode::OK,
    }
    *response.body_mut() = crate::body::empty();
    let shared = shared.clone();
    let (on, route) = (pending.on, pending.route);
    tokio::spawn(async move {
        let Some(hub) = shared.ws.as_ref() else {
            return;
        };
        let Ok(upgraded) = on.await else {
            hub.failed(slot, slot_generation);
            return;
        };
        let Some(socket) = hub.open(route, slot, slot_generation, shared.now_ms()) else {
            // Every index was taken between the check and now.
            hub.failed(slot, slot_generation);
            return;
        };
        type Io = TokioIo<crate::watchdog::Stream<tokio::net::TcpStream, Shared>>;
        match hyper_util::server::conn::auto::upgrade::downcast::<Io>(upgraded) {
            Ok(parts) => {
                // The plain TCP stream: reader and writer own their halves,
                // no lock between them. Bytes the client sent right after
                // its request are read first.
                let stream = parts.io.into_inner().into_inner();
                let (read, write) = stream.into_split();
                let read = Prefixed::new(parts.read_buf, read);
                socket::run(shared.clone(), socket, read, write).await;
            }
            Err(upgraded) => {
                let (read, write) = tokio::io::split(TokioIo::new(upgraded));
                socket::run(shared.clone(), socket, read, write).await;
            }
        }
    });
    response
}

/// A reader that yields `prefix` before `inner`.
struct Prefixed<R> {
    prefix: Bytes,
    inner: R,
}

impl<R> Prefixed<R> {
    fn new(prefix: Bytes, inner: R) -> Self {
        Prefixed { prefix, inner }
    }
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Prefixed<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}
