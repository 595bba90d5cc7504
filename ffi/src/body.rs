//! The response body type: a whole buffer (everything TypeScript, const
//! routes and Rust's own errors answer, compressed or not), or a boxed
//! stream (static files above one read, and their compression).

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{Either, Full};

/// Every response Ferry sends has this body type.
pub(crate) type Body = Either<Full<Bytes>, UnsyncBoxBody<Bytes, std::io::Error>>;

/// A body held whole in memory.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Either::Left(Full::new(bytes.into()))
}

/// An empty body.
pub(crate) fn empty() -> Body {
    Either::Left(Full::new(Bytes::new()))
}

/// A streamed body.
pub(crate) fn streamed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes, Error = std::io::Error> + Send + 'static,
{
    Either::Right(UnsyncBoxBody::new(body))
}
