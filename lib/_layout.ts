// Slot record layout, mirrored from ffi/src/layout.rs (the ABI version
// guards the two staying in step). Offsets are in u32 words.

/** Words of a request record's header. */
export const Req = {
  ROUTE: 0,
  METHOD: 1,
  FLAGS: 2,
  TOTAL: 3,
  METHOD_LEN: 4,
  PATH_LEN: 5,
  QUERY_LEN: 6,
  PARAMS_LEN: 7,
  HEADERS_LEN: 8,
  REMOTE_LEN: 9,
  BODY_LEN: 10,
  GENERATION: 11,
  VALID_LEN: 12,
  HEADER_BYTES: 64,
  FLAG_OVERFLOW: 1,
  FLAG_HTTP2: 2,
  FLAG_BODY_STREAM: 4,
} as const;

/**
 * Set on a drain entry's slot id: that request is over (client gone, timed
 * out, expired) and JavaScript releases it (ffi/src/slots.rs `CANCELLED`).
 */
export const CANCELLED = 0x8000_0000;

/**
 * Set on a drain entry's slot id: that stream handed every committed byte
 * to hyper, so its producer may write again (ffi/src/slots.rs `WRITABLE`).
 */
export const WRITABLE = 0x4000_0000;

/**
 * Set on a drain entry's slot id: the next chunk of that request's
 * streamed body is in the slot's response area, after a `[length, flags]`
 * prefix (ffi/src/stream/body_in.rs).
 */
export const BODY = 0x2000_0000;

/** Flags of a body chunk's prefix. */
export const BodyChunk = { END: 1, FAILED: 2, PREFIX: 8 } as const;

/** Commit entries: `(slot, generation, ops, length)`; ops from ffi/src/layout.rs `op`. */
export const Op = {
  WORDS: 4,
  ANSWER: 0,
  HEAD: 1,
  CHUNK: 2,
  WAIT: 4,
  END: 8,
  ABORT: 16,
  RELEASE: 32,
  PULL: 64,
} as const;

/** Words of a response record's header. */
export const Res = {
  STATUS: 0,
  HEADERS_LEN: 1,
  BODY_LEN: 2,
  FLAGS: 3,
  HEADER_BYTES: 16,
  FLAG_BODY_OUTSIDE: 1,
  FLAG_HEAD_OUTSIDE: 2,
} as const;

/** Method names by code; code 7 carries its own name. */
export const METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
] as const;

/**
 * The WebSocket area (ffi/src/layout.rs `ws`): entries of four words,
 * `kind << 24 | socket`, generation, offset, length, in both directions.
 */
export const Ws = {
  WORDS: 4,
  EVENTS: 4096,
  ACTIONS: 4096,
  EVENT_COUNT: 0,
  EVENTS_AT: 4,
  ACTION_COUNT: 4 + 4096 * 4,
  ACTIONS_AT: 4 + 4096 * 4 + 4,
  BUFFERED_AT: 4 + 4096 * 4 + 4 + 4096 * 4,
  IN_BYTES: 256 * 1024,
  OUT_BYTES: 256 * 1024,
  KIND_SHIFT: 24,
  INDEX_MASK: 0x00ff_ffff,
  NO_SOCKET: 0x00ff_ffff,
  // events
  OPEN: 1,
  TEXT: 2,
  BINARY: 3,
  CLOSE: 4,
  DRAIN: 5,
  FAILED: 6,
  OUTSIDE: 0x80,
  // actions
  SEND_TEXT: 1,
  SEND_BINARY: 2,
  CLOSE_SOCKET: 3,
  PUBLISH_TEXT: 4,
  PUBLISH_BINARY: 5,
  SUBSCRIBE: 6,
  UNSUBSCRIBE: 7,
  RELEASE: 8,
  PING: 9,
  WANT_DRAIN: 0x40,
} as const;
