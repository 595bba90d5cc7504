//! A socket's writer: queued frames out, several per `write(2)`; the close
//! frame last, then the write side shut.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::Socket;
use crate::layout::ws::DRAIN;
use crate::ws::Hub;

pub(super) async fn write_loop<W>(hub: &Hub, socket: &Socket, mut write: W)
where
    W: AsyncWrite + Unpin,
{
    let mut joined: Vec<u8> = Vec::new();
    loop {
        let taken = {
            let mut out = socket.out.lock();
            if out.frames.is_empty() {
                if out.done {
                    break;
                }
                None
            } else {
                Some((std::mem::take(&mut out.frames), out.closing))
            }
        };
        let Some((frames, closing)) = taken else {
            tokio::select! {
                biased;
                _ = socket.cancel.cancelled() => break,
                _ = socket.wake_writer.notified() => continue,
            }
        };
        let n: usize = frames.iter().map(Bytes::len).sum();
        // Several frames (a burst of sends, a publish behind a reply) go in
        // one write(2).
        let bytes: &[u8] = if frames.len() == 1 {
            &frames[0]
        } else {
            joined.clear();
            for frame in &frames {
                joined.extend_from_slice(frame);
            }
            &joined
        };
        let written = tokio::select! {
            biased;
            _ = socket.cancel.cancelled() => false,
            result = write.write_all(bytes) => result.is_ok(),
        };
        if !written {
            socket.out.lock().done = true;
            socket.cancel.cancel();
            break;
        }
        hub.counters
            .frames_out
            .fetch_add(frames.len() as u64, Ordering::Relaxed);
        let left = {
            let mut out = socket.out.lock();
            out.bytes = out.bytes.saturating_sub(n);
            if closing {
                out.done = true;
            }
            out.bytes
        };
        hub.area.set_buffered(socket.index, left);
        if closing {
            // The close frame was the last one queued: the server is done
            // sending (RFC 6455 §7.1.1); the reader waits for the client's.
            let _ = write.shutdown().await;
            break;
        }
        if left == 0 && socket.want_drain.swap(false, Ordering::AcqRel) {
            hub.event(socket, DRAIN, Bytes::new());
        }
        if joined.capacity() > 1 << 20 {
            joined = Vec::new();
        }
    }
}
