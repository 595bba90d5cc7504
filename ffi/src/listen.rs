//! Binding the listening socket with a deeper accept queue than Rust's
//! standard library asks for.
//!
//! `std::net::TcpListener::bind` calls `listen(2)` with a backlog of 128.
//! The pump engine accepts only while JavaScript pumps or parks, so a burst
//! of connections (1,000 SSE clients connecting one after another, or
//! reconnecting at once after a restart) can outrun it by more than 128:
//! the kernel then drops the SYNs past the queue (`TcpExtListenOverflows`)
//! and each of those clients connects only after its SYN is retransmitted,
//! a second later, then two, then four. Measured with the streaming
//! benchmark's client: 3 of 1,000 sequential connects overflowed, so
//! connecting took 3.1 s instead of ~0.1 s, the server streaming to the
//! clients already connected meanwhile. Deno.serve and Node listen with
//! 511; tokio's `TcpListener::bind` with 1024, which this follows (the
//! kernel caps it at `net.core.somaxconn`).

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

use socket2::{Domain, Socket, Type};

/// The accept queue asked for (tokio's default).
pub(crate) const BACKLOG: i32 = 1024;

/// Binds `addr` (`host:port`) like `TcpListener::bind`, trying each address
/// the host resolves to in turn, but listens with [`BACKLOG`].
pub(crate) fn bind(addr: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        match bind_one(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // As the standard library does on Unix: a restarted server can bind
    // while connections of its predecessor linger in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_like_std_and_accepts() {
        let listener = bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        let _client = std::net::TcpStream::connect(addr).unwrap();
        assert!(listener.accept().is_ok());
        assert!(bind(&addr.to_string()).is_err(), "the port is taken");
        assert!(bind("no-such-host.invalid:0").is_err());
    }

    /// Fails with `std::net::TcpListener::bind` (128).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_accept_queue_is_1024_deep_up_to_somaxconn() {
        use std::os::fd::AsRawFd;
        let listener = bind("127.0.0.1:0").unwrap();
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SAFETY: `tcp_info` is plain integers, valid when zeroed.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: the descriptor is the open listener's; `info` and `len`
        // are live locals and `len` is `info`'s size, so the kernel writes
        // within it.
        let rc = unsafe {
            libc::getsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        // For a listening socket the kernel reports the queue's limit in
        // `tcpi_sacked` (what `ss -l` shows as Send-Q).
        assert_eq!(info.tcpi_sacked, (BACKLOG as u32).min(somaxconn));
    }
}
