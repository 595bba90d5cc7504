//! Listener handover for `deno run --watch`: when Deno reloads the module,
//! the process and this library stay, but the isolate that owned a server
//! is gone (it dispatches `unload` first). The new module's `listen()` on
//! the same address takes the old server's kernel socket instead of binding
//! anew: the port never closes, so no connection is refused, and
//! connections still in the accept backlog go to the new server.
//!
//! Every server bound to a fixed port parks a duplicate of its listening
//! socket here; it is offered to a new server only once its owner was
//! orphaned (`ferry_server_orphan`), and dropped (closing the port) when the
//! server closes normally.
//!
//! Connections the old server had already accepted (a client's keep-alive
//! pool) stay open: their next requests are relayed ([`Relay`]) to the
//! server that took the socket, its routes and its JavaScript, instead of
//! being refused. Only requests the old JavaScript already held are lost;
//! they are answered 503 (`Server::orphan`).

use std::convert::Infallible;
use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use parking_lot::Mutex;

use crate::dispatch::{Peer, Reply, Service};
use crate::response::Body;
use crate::server::Shared;

/// How long a request on an orphaned server's connection waits for the
/// reloaded module to start a server on the same address; past it, the
/// request gets the orphan's 503.
const SUCCESSOR_WAIT: Duration = Duration::from_secs(10);

struct Parked {
    /// The server that owns the socket (`Server::handover_key`).
    key: u64,
    /// Its state, to link it to the server that takes the socket.
    shared: Weak<Shared>,
    /// The address as the config asked for it (`hostname:port`).
    addr: String,
    /// A duplicate of the server's listening socket.
    socket: TcpListener,
    /// The owner's JavaScript is gone: the socket may be taken.
    orphaned: bool,
}

static PARKED: Mutex<Vec<Parked>> = Mutex::new(Vec::new());
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// A fresh key for a server's parked socket.
pub(crate) fn next_key() -> u64 {
    NEXT_KEY.fetch_add(1, Ordering::Relaxed)
}

/// An orphaned server's listening socket, taken over by a new server.
pub(crate) struct Taken {
    pub(crate) socket: TcpListener,
    /// The orphan, whose connections relay to the new server once linked.
    pub(crate) predecessor: Weak<Shared>,
}

/// The listening socket of an orphaned server asked for the same address,
/// taken out of the registry, if there is one.
pub(crate) fn take_orphaned(addr: &str) -> Option<Taken> {
    let mut parked = PARKED.lock();
    let at = parked.iter().position(|p| p.orphaned && p.addr == addr)?;
    let p = parked.swap_remove(at);
    Some(Taken {
        socket: p.socket,
        predecessor: p.shared,
    })
}

/// Points `predecessor`'s relayed requests at `successor`.
pub(crate) fn link(predecessor: &Weak<Shared>, successor: &Arc<Shared>) {
    if let Some(old) = predecessor.upgrade() {
        *old.successor.lock() = Some(successor.clone());
        old.successor_ready.notify_waiters();
    }
}

/// Parks a duplicate of `socket` for server `key` (fixed ports only: a
/// restart asking for port 0 gets a new port anyway).
pub(crate) fn park(
    key: u64,
    addr: &str,
    socket: &TcpListener,
    shared: Weak<Shared>,
) -> Result<(), String> {
    let socket = socket.try_clone().map_err(|e| e.to_string())?;
    PARKED.lock().push(Parked {
        key,
        shared,
        addr: addr.to_string(),
        socket,
        orphaned: false,
    });
    Ok(())
}

/// Offers server `key`'s socket to the next server on its address. Call it
/// after the server stopped accepting, so no connection is taken twice.
pub(crate) fn orphan(key: u64) {
    if let Some(p) = PARKED.lock().iter_mut().find(|p| p.key == key) {
        p.orphaned = true;
    }
}

/// Drops server `key`'s parked socket (the port closes unless taken).
pub(crate) fn forget(key: u64) {
    PARKED.lock().retain(|p| p.key != key);
}

/// The hyper service of a connection: the server's own [`Service`], or, once
/// the server is orphaned, the live server that took over its socket.
pub(crate) struct Relay(pub(crate) Arc<Peer>);

impl hyper::service::Service<Request<Incoming>> for Relay {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Relayed;

    fn call(&self, req: Request<Incoming>) -> Relayed {
        // One atomic load per request while not orphaned: the common case.
        if !self.0.shared.orphaned.load(Ordering::Acquire) {
            return Relayed::Here(Service(self.0.clone()).call(req));
        }
        let peer = self.0.clone();
        Relayed::Moved(Box::pin(async move {
            let target = match successor(peer.shared.clone()).await {
                Some(shared) => Arc::new(Peer {
                    shared,
                    activity: peer.activity.clone(),
                    addr: peer.addr,
                    text: peer.text.clone(),
                }),
                None => peer,
            };
            Service(target).call(req).await
        }))
    }
}

/// The response future of [`Relay`].
// Every request takes `Here`, inline; boxing it to shrink the enum would
// add an allocation per request to serve the rare relayed one.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Relayed {
    Here(Reply),
    Moved(Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>),
}

impl Future for Relayed {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Relayed::Here(reply) => Pin::new(reply).poll(cx),
            Relayed::Moved(future) => future.as_mut().poll(cx),
        }
    }
}

/// The live (not orphaned) server that took over from `shared`, following
/// the chain across several reloads; waits up to `SUCCESSOR_WAIT`.
async fn successor(mut shared: Arc<Shared>) -> Option<Arc<Shared>> {
    let deadline = Instant::now() + SUCCESSOR_WAIT;
    loop {
        if !shared.orphaned.load(Ordering::Acquire) {
            return Some(shared);
        }
        let current = shared.clone();
        let ready = current.successor_ready.notified();
        tokio::pin!(ready);
        // Registered before looking, so a link made in between wakes us.
        ready.as_mut().enable();
        let next = current.successor.lock().clone();
        match next {
            Some(next) => shared = next,
            None => {
                let left = deadline.checked_duration_since(Instant::now())?;
                if tokio::time::timeout(left, ready).await.is_err() {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_is_taken_only_once_orphaned_and_only_once() {
        let socket = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("127.0.0.1:{}", socket.local_addr().unwrap().port());
        let key = next_key();
        park(key, &addr, &socket, Weak::new()).unwrap();
        assert!(
            take_orphaned(&addr).is_none(),
            "a live owner keeps its socket"
        );
        orphan(key);
        let taken = take_orphaned(&addr).expect("an orphaned socket is offered");
        assert_eq!(
            taken.socket.local_addr().unwrap(),
            socket.local_addr().unwrap()
        );
        assert!(take_orphaned(&addr).is_none());
        forget(key);
    }

    #[test]
    fn forget_drops_the_duplicate() {
        let socket = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("127.0.0.1:{}", socket.local_addr().unwrap().port());
        let key = next_key();
        park(key, &addr, &socket, Weak::new()).unwrap();
        forget(key);
        orphan(key);
        assert!(take_orphaned(&addr).is_none());
    }
}
