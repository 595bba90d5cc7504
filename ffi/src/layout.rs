//! The byte layout of a slot, shared with `lib/_layout.ts`.
//!
//! A slot is `req_bytes + res_bytes` bytes of the arena. Both halves start
//! with a header of little-endian `u32` words, followed by packed bytes.
//! Keep this file and `lib/_layout.ts` in step; `ABI_VERSION` guards that.

/// Bumped whenever the layout or the exported functions change, so a stale
/// library is refused at load time instead of misreading memory.
pub(crate) const ABI_VERSION: u32 = 13;

/// Words at the start of a request record.
pub(crate) mod req {
    /// Route id assigned by TypeScript.
    pub(crate) const ROUTE: usize = 0;
    /// Method code, see `METHODS`.
    pub(crate) const METHOD: usize = 1;
    /// Flags, see `FLAG_*`.
    pub(crate) const FLAGS: usize = 2;
    /// Total length of the record's byte part (also the overflow size).
    pub(crate) const TOTAL: usize = 3;
    /// Length of the method name bytes (only for `METHOD_OTHER`).
    pub(crate) const METHOD_LEN: usize = 4;
    /// Length of the raw (still percent-encoded) path.
    pub(crate) const PATH_LEN: usize = 5;
    /// Length of the raw query string, without `?`.
    pub(crate) const QUERY_LEN: usize = 6;
    /// Length of the params block: per value a u32 length then UTF-8 bytes.
    pub(crate) const PARAMS_LEN: usize = 7;
    /// Length of the headers block: `name:value\n` per header.
    pub(crate) const HEADERS_LEN: usize = 8;
    /// Length of the remote address text (`ip:port`).
    pub(crate) const REMOTE_LEN: usize = 9;
    /// Length of the body (last, so blocks are summed in word order).
    pub(crate) const BODY_LEN: usize = 10;
    /// Generation counter of the slot, bumped on each use.
    pub(crate) const GENERATION: usize = 11;
    /// Length of the coerced-values block (JSON), right after the body;
    /// 0 for a route without schemas (see `validation`).
    pub(crate) const VALID_LEN: usize = 12;
    /// Size of the header in bytes; the packed bytes follow.
    pub(crate) const HEADER_BYTES: usize = 64;
    /// The record did not fit in the slot: its bytes wait in Rust and are
    /// copied out by `ferry_read_overflow`.
    pub(crate) const FLAG_OVERFLOW: u32 = 1;
    /// The request came over HTTP/2.
    pub(crate) const FLAG_HTTP2: u32 = 2;
    /// The body is still arriving: it follows as body events
    /// (`stream::body_in`), and `BODY_LEN` is 0.
    pub(crate) const FLAG_BODY_STREAM: u32 = 4;
}

/// Words at the start of a response record written by TypeScript.
pub(crate) mod res {
    /// HTTP status.
    pub(crate) const STATUS: usize = 0;
    /// Length of the headers block (`name:value\n` per header).
    pub(crate) const HEADERS_LEN: usize = 1;
    /// Length of the body written inline after the headers.
    pub(crate) const BODY_LEN: usize = 2;
    /// Flags, see `FLAG_*`.
    pub(crate) const FLAGS: usize = 3;
    /// Size of the header in bytes.
    pub(crate) const HEADER_BYTES: usize = 16;
    /// The body was handed over with `ferry_set_body` instead of inline.
    pub(crate) const FLAG_BODY_OUTSIDE: u32 = 1;
    /// Headers did not fit either: the outside bytes are headers then body.
    pub(crate) const FLAG_HEAD_OUTSIDE: u32 = 2;
}

/// Commit entries are four `u32` words: slot, generation, op bits, length.
pub(crate) mod op {
    /// Words per commit entry.
    pub(crate) const WORDS: usize = 4;
    /// The response record is the whole answer; JavaScript lets go.
    pub(crate) const ANSWER: u32 = 0;
    /// The response record is the head of a streamed answer (its inline or
    /// outside body is the first chunk); JavaScript keeps the slot.
    pub(crate) const HEAD: u32 = 1;
    /// `length` bytes at the start of the response area are the next chunk.
    pub(crate) const CHUNK: u32 = 2;
    /// JavaScript is out of credit: raise a writable event once every
    /// buffered byte was handed to hyper.
    pub(crate) const WAIT: u32 = 4;
    /// The stream's last chunk was sent; JavaScript lets go.
    pub(crate) const END: u32 = 8;
    /// The stream failed: end the transfer as failed; JavaScript lets go.
    pub(crate) const ABORT: u32 = 16;
    /// JavaScript lets go without an answer (a request Rust said is over).
    pub(crate) const RELEASE: u32 = 32;
    /// JavaScript wants the next chunk of a streamed request body.
    pub(crate) const PULL: u32 = 64;
}

/// Method names by code; code `METHOD_OTHER` carries its name in the record.
pub(crate) const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];
/// Code of a method not in `METHODS`.
pub(crate) const METHOD_OTHER: u32 = 7;

/// The method code for a method.
pub(crate) fn method_code(method: &http::Method) -> u32 {
    METHODS
        .iter()
        .position(|m| *m == method.as_str())
        .map_or(METHOD_OTHER, |i| i as u32)
}
