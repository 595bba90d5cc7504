//! Compression of streamed bodies (static files without a precompressed
//! sibling): each chunk goes through the encoder as it arrives, so a large
//! file is never held whole in memory. The encoders write into a `Vec`
//! that is emptied into a frame whenever it holds output.

use std::io::Write;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use http_body_util::combinators::UnsyncBoxBody;

use crate::accept_encoding::Encoding;

type Inner = UnsyncBoxBody<Bytes, std::io::Error>;

/// A running encoder over an in-memory sink.
enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
}

impl Encoder {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.write_all(data),
            Encoder::Brotli(e) => e.write_all(data),
        }
    }

    /// Output produced so far, taken out of the sink.
    fn take(&mut self) -> Vec<u8> {
        match self {
            Encoder::Gzip(e) => std::mem::take(e.get_mut()),
            Encoder::Brotli(e) => std::mem::take(e.get_mut()),
        }
    }

    /// Flushes what the encoder holds, so the output so far decodes whole.
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Brotli(e) => e.flush(),
        }
    }

    /// Ends the stream and returns the last output.
    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Brotli(e) => Ok(e.into_inner()),
        }
    }
}

/// A body that compresses another one chunk by chunk.
pub(crate) struct Compressing {
    inner: Inner,
    /// `None` once the stream is finished.
    encoder: Option<Encoder>,
    /// Flush after every input chunk (a live stream: events must not wait
    /// for the encoder's buffer to fill).
    flush_each: bool,
}

impl Compressing {
    /// Wraps `inner`; `level` is the gzip level or the brotli quality.
    pub(crate) fn new(inner: Inner, encoding: Encoding, level: u32) -> Compressing {
        let sink = Vec::with_capacity(16 * 1024);
        let encoder = match encoding {
            Encoding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                sink,
                flate2::Compression::new(level),
            )),
            // 4 MiB window at most (lgwin 22), brotli's default for streams.
            Encoding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                sink,
                16 * 1024,
                level,
                22,
            ))),
        };
        Compressing {
            inner,
            encoder: Some(encoder),
            flush_each: false,
        }
    }

    /// Flushes the encoder after every chunk when `live` (a stream that
    /// JavaScript is still writing). Costs some ratio on small chunks.
    pub(crate) fn flush_each_chunk(mut self, live: bool) -> Compressing {
        self.flush_each = live;
        self
    }
}

impl HttpBody for Compressing {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        encoder.write(&data)?;
                        if this.flush_each {
                            encoder.flush()?;
                        }
                        let out = encoder.take();
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out.into()))));
                        }
                    }
                    // Trailers cannot follow the compressed data here; drop them.
                    Err(_) => continue,
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    let last = this.encoder.take().map(Encoder::finish).transpose()?;
                    return Poll::Ready(
                        last.filter(|b| !b.is_empty())
                            .map(|b| Ok(Frame::data(b.into()))),
                    );
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.encoder.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::collections::VecDeque;
    use std::io::Read;

    /// A body that yields its chunks one poll at a time, like a file.
    struct Chunks(VecDeque<Bytes>);

    impl HttpBody for Chunks {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
        }
    }

    fn chunks(text: &str) -> Inner {
        let parts = text
            .as_bytes()
            .chunks(1000)
            .map(Bytes::copy_from_slice)
            .collect();
        UnsyncBoxBody::new(Chunks(parts))
    }

    #[test]
    fn streams_round_trip() {
        let text = "stream me ".repeat(5000);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for (encoding, level) in [(Encoding::Gzip, 6), (Encoding::Brotli, 4)] {
            let body = Compressing::new(chunks(&text), encoding, level);
            let packed = rt.block_on(body.collect()).unwrap().to_bytes();
            assert!(packed.len() < text.len() / 10);
            let mut round = String::new();
            match encoding {
                Encoding::Gzip => {
                    flate2::read::GzDecoder::new(&packed[..]).read_to_string(&mut round)
                }
                Encoding::Brotli => {
                    brotli::Decompressor::new(&packed[..], 4096).read_to_string(&mut round)
                }
            }
            .unwrap();
            assert_eq!(round, text);
        }
    }
}
