//! Vectored writes that copy only what is small.
//!
//! hyper's HTTP/1 connection either flattens every body chunk into one write
//! buffer (`writev(false)`: one `send(2)` per small answer, but a streamed
//! 64 KiB chunk is copied, and copied again when a partly sent buffer is
//! shifted) or queues chunks and hands the socket an `iovec` list
//! (`writev(true)`: no copy, but a small answer's head and body become a
//! `writev(2)` of two pieces). It has no per-response choice. The connection
//! runs queued (`writev(true)`) and this module picks per write: pieces that
//! add up to at most [`COALESCE_MAX`] are copied into one thread-local buffer
//! and sent with a single `write(2)`, as the flat buffer did; anything larger
//! goes to the kernel as it is, so a download's chunks are never copied in
//! user space after the one copy out of JavaScript.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// The largest write that is copied into one buffer. Answers and SSE events
/// are well under it; a download's chunks (64 KiB) are over it. An A/B of
/// plaintext and json against the flat buffer measured the same CPU per
/// request (docs/crossing.md).
pub(crate) const COALESCE_MAX: usize = 16 * 1024;

thread_local! {
    /// One scratch buffer per runtime thread. The copy and the write happen
    /// in the same call, so nothing outlives it.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(COALESCE_MAX));
}

/// Writes `bufs` to `io`: one `poll_write` of their concatenation when there
/// are several and they are small, else `poll_write_vectored`. Either way the
/// count returned is of the concatenation's bytes, which is what callers
/// advance by.
pub(crate) fn poll_write<W: AsyncWrite + Unpin + ?Sized>(
    io: Pin<&mut W>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    if bufs.len() < 2 {
        return io.poll_write_vectored(cx, bufs);
    }
    let mut total = 0usize;
    for buf in bufs {
        total += buf.len();
        if total > COALESCE_MAX {
            return io.poll_write_vectored(cx, bufs);
        }
    }
    SCRATCH.with(|scratch| {
        // A re-entrant call (none is expected: the inner write is a socket's)
        // would find the buffer borrowed; it then writes vectored instead.
        let Ok(mut joined) = scratch.try_borrow_mut() else {
            return io.poll_write_vectored(cx, bufs);
        };
        joined.clear();
        for buf in bufs {
            joined.extend_from_slice(buf);
        }
        io.poll_write(cx, &joined)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// Records how each write arrived; accepts at most `accept` bytes.
    #[derive(Default)]
    struct Recorder {
        accept: usize,
        flat: Vec<Vec<u8>>,
        vectored: Vec<usize>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.accept);
            self.get_mut().flat.push(buf[..n].to_vec());
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let total: usize = bufs.iter().map(|b| b.len()).sum();
            let n = total.min(self.accept);
            let this = self.get_mut();
            this.vectored.push(bufs.len());
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn write(recorder: &mut Recorder, bufs: &[&[u8]]) -> usize {
        let slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
        let mut cx = Context::from_waker(Waker::noop());
        match poll_write(Pin::new(recorder), &mut cx, &slices) {
            Poll::Ready(Ok(n)) => n,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_small_head_and_body_go_out_in_one_write() {
        let mut r = Recorder {
            accept: usize::MAX,
            ..Default::default()
        };
        let n = write(&mut r, &[b"HTTP/1.1 200 OK\r\n\r\n", b"hello"]);
        assert_eq!(n, 24);
        assert_eq!(r.flat, vec![b"HTTP/1.1 200 OK\r\n\r\nhello".to_vec()]);
        assert!(r.vectored.is_empty());
    }

    #[test]
    fn a_large_chunk_goes_out_vectored_without_a_copy() {
        let mut r = Recorder {
            accept: usize::MAX,
            ..Default::default()
        };
        let chunk = vec![7u8; 64 * 1024];
        let n = write(&mut r, &[b"10000\r\n", &chunk, b"\r\n"]);
        assert_eq!(n, 64 * 1024 + 9);
        assert!(r.flat.is_empty());
        assert_eq!(r.vectored, vec![3]);
    }

    #[test]
    fn a_partial_write_counts_bytes_of_the_concatenation() {
        let mut r = Recorder {
            accept: 7,
            ..Default::default()
        };
        let n = write(&mut r, &[b"abcd", b"efgh"]);
        assert_eq!(n, 7);
        assert_eq!(r.flat, vec![b"abcdefg".to_vec()]);
    }

    #[test]
    fn one_piece_is_written_as_it_is() {
        let mut r = Recorder {
            accept: usize::MAX,
            ..Default::default()
        };
        assert_eq!(write(&mut r, &[b"only"]), 4);
        assert_eq!(r.vectored, vec![1]);
        assert!(r.flat.is_empty());
    }

    #[test]
    fn exactly_the_limit_is_still_copied() {
        let mut r = Recorder {
            accept: usize::MAX,
            ..Default::default()
        };
        let half = vec![1u8; COALESCE_MAX / 2];
        assert_eq!(write(&mut r, &[&half, &half]), COALESCE_MAX);
        assert_eq!(r.flat.len(), 1);
        assert!(r.vectored.is_empty());
    }
}
