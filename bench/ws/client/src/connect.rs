//! The client side of the opening handshake (RFC 6455 §4.1), by hand: one
//! fixed key, whose accept value is known, so no SHA-1 or HTTP client is
//! needed.

use std::io::Cursor;
use std::time::Duration;

use fastwebsockets::{FragmentCollector, Role, WebSocket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The sample nonce of RFC 6455 §1.3 and its `Sec-WebSocket-Accept`.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// Longest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Time allowed for one connection's TCP connect and handshake.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A stream whose first bytes are what the handshake read past the head.
pub type Stream = tokio::io::Join<
    tokio::io::Chain<Cursor<Vec<u8>>, tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
>;

/// An open client WebSocket (messages reassembled from fragments).
pub type Socket = FragmentCollector<Stream>;

/// Connects to `127.0.0.1:port`, upgrades `path`, and checks the 101.
pub async fn open(port: u16, path: &str) -> Result<Socket, String> {
    match tokio::time::timeout(TIMEOUT, handshake(port, path)).await {
        Ok(result) => result,
        Err(_) => Err(format!("{path}: no handshake within {TIMEOUT:?}")),
    }
}

async fn handshake(port: u16, path: &str) -> Result<Socket, String> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("{path}: connect: {e}"))?;
    tcp.set_nodelay(true)
        .map_err(|e| format!("{path}: nodelay: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("{path}: write: {e}"))?;
    let (head, rest) = read_head(&mut tcp)
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    check_head(&head).map_err(|e| format!("{path}: {e}"))?;
    let (read, write) = tcp.into_split();
    let stream = tokio::io::join(Cursor::new(rest).chain(read), write);
    Ok(FragmentCollector::new(WebSocket::after_handshake(
        stream,
        Role::Client,
    )))
}

/// Reads up to the blank line; returns the head and the bytes after it.
async fn read_head<S: AsyncRead + AsyncWrite + Unpin>(
    tcp: &mut S,
) -> Result<(String, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while buf.len() < MAX_HEAD {
        let n = tcp
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed during the handshake".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
    }
    Err(format!("response head over {MAX_HEAD} bytes"))
}

fn check_head(head: &str) -> Result<(), String> {
    let status = head.lines().next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 101") {
        return Err(format!("expected 101, got {status:?}"));
    }
    let accept = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-accept")
            .then(|| value.trim())
    });
    match accept {
        Some(ACCEPT) => Ok(()),
        other => Err(format!("bad sec-websocket-accept {other:?}")),
    }
}
