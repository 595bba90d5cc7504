//! The byte layout of a slot, shared with `lib/_layout.ts`.
//!
//! A slot is `req_bytes + res_bytes` bytes of the arena. Both halves start
//! with a header of little-endian `u32` words, followed by packed bytes.
//! Keep this file and `lib/_layout.ts` in step; `ABI_VERSION` guards that.

/// Bumped whenever the layout or the exported functions change, so a stale
/// library is refused at load time instead of misreading memory.
pub(crate) const ABI_VERSION: u32 = 15;

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
    /// `length` bytes at the start of the response area are the next chunk
    /// (length 0: the chunk went by `ferry_stream_write` just before).
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

/// The WebSocket area: one Rust-owned block JavaScript maps once
/// (`ferry_ws_area`), of `u32` words then bytes (see `ws::area`).
/// Entries are four words in both directions: `kind << 24 | socket`,
/// generation, offset, length.
pub(crate) mod ws {
    /// Words per event or action entry.
    pub(crate) const WORDS: usize = 4;
    /// Event entries one drain can hand over.
    pub(crate) const EVENTS: usize = 4096;
    /// Action entries JavaScript can queue between two commits.
    pub(crate) const ACTIONS: usize = 4096;
    /// Word: events in this drain (written by the drain).
    pub(crate) const EVENT_COUNT: usize = 0;
    /// Word where event entries start.
    pub(crate) const EVENTS_AT: usize = 4;
    /// Word: actions queued (written by JavaScript, zeroed by the commit).
    pub(crate) const ACTION_COUNT: usize = EVENTS_AT + EVENTS * WORDS;
    /// Word where action entries start.
    pub(crate) const ACTIONS_AT: usize = ACTION_COUNT + 4;
    /// Word where the per-socket buffered amounts start (`max_sockets`).
    pub(crate) const BUFFERED_AT: usize = ACTIONS_AT + ACTIONS * WORDS;
    /// Bytes of the inbound area (message payloads of one drain).
    pub(crate) const IN_BYTES: usize = 256 * 1024;
    /// Bytes of the outbound area (payloads of one commit's actions).
    pub(crate) const OUT_BYTES: usize = 256 * 1024;
    /// The kind sits in the top byte of an entry's first word.
    pub(crate) const KIND_SHIFT: u32 = 24;
    /// The socket index is the low 24 bits.
    pub(crate) const INDEX_MASK: u32 = 0x00FF_FFFF;
    /// "No socket": the sender of `server.publish`.
    pub(crate) const NO_SOCKET: u32 = INDEX_MASK;

    /// Event: a socket opened; payload `[slot, slot generation]` (u32 LE)
    /// of the upgrade request.
    pub(crate) const OPEN: u32 = 1;
    /// Event: a text message (UTF-8 payload).
    pub(crate) const TEXT: u32 = 2;
    /// Event: a binary message.
    pub(crate) const BINARY: u32 = 3;
    /// Event: the socket closed; payload: code (u16 big-endian) and reason.
    pub(crate) const CLOSE: u32 = 4;
    /// Event: the socket's send buffer emptied after a send that waited.
    pub(crate) const DRAIN: u32 = 5;
    /// Event: an accepted upgrade never became a socket (the client left);
    /// payload `[slot, slot generation]`.
    pub(crate) const FAILED: u32 = 6;
    /// Event flag: the payload did not fit the inbound area; the offset is
    /// a ticket for `ferry_ws_take`.
    pub(crate) const OUTSIDE: u32 = 0x80;

    /// Action: send the payload as a text message.
    pub(crate) const SEND_TEXT: u32 = 1;
    /// Action: send the payload as a binary message.
    pub(crate) const SEND_BINARY: u32 = 2;
    /// Action: close; payload: code (u16 big-endian) and reason.
    pub(crate) const CLOSE_SOCKET: u32 = 3;
    /// Action: publish text; payload: topic length (u32 LE), topic, message.
    pub(crate) const PUBLISH_TEXT: u32 = 4;
    /// Action: publish binary; payload as `PUBLISH_TEXT`.
    pub(crate) const PUBLISH_BINARY: u32 = 5;
    /// Action: subscribe to the topic in the payload.
    pub(crate) const SUBSCRIBE: u32 = 6;
    /// Action: unsubscribe from the topic in the payload.
    pub(crate) const UNSUBSCRIBE: u32 = 7;
    /// Action: JavaScript lets go of a socket it was told closed.
    pub(crate) const RELEASE: u32 = 8;
    /// Action: send a ping with the payload.
    pub(crate) const PING: u32 = 9;
    /// Action flag: raise a drain event once the send buffer is empty.
    pub(crate) const WANT_DRAIN: u32 = 0x40;
}
