// The counters of a server as `server.stats()` reports them: Rust's
// (`ferry_server_stats`, in the order ffi/src/abi.rs writes them) and the
// TypeScript side's FFI calls and hops.

import type { HopCounter } from "./_plan.ts";
import type { WsCounters } from "./_ws_hub.ts";

/** Numbers `ferry_server_stats` writes (ffi/src/abi.rs). */
export const STATS_LEN = 24;

/**
 * Counters of one server, for tests and dashboards. "Crossings" are FFI
 * calls between JavaScript and Rust.
 *
 * @example
 * ```ts
 * import type { ServerStats } from "@ferry/ferry";
 * const show = (s: ServerStats) => `${s.meanBatch.toFixed(1)} requests per drain`;
 * ```
 */
export interface ServerStats {
  /** Requests received by Rust (every answer, native or not). */
  requests: number;
  /** Requests handed to JavaScript through slots. */
  toJs: number;
  /** Requests answered by Rust alone (errors, limits, 404/405, …). */
  native: number;
  /** FFI calls by kind. */
  ffiCalls: {
    /** `ferry_pump` calls: each commits the answers so far, drives I/O and drains. */
    drain: number;
    /** `ferry_wait` calls (parking when idle). */
    wait: number;
    /** `ferry_commit` calls: answers committed on their own, while parked. */
    commit: number;
    setBody: number;
    readOverflow: number;
    /** `ferry_stream_write` calls: stream chunks too large for the slot. */
    streamWrite: number;
    total: number;
  };
  /** FFI calls per request handed to JavaScript. */
  ffiCallsPerRequest: number;
  /** Drains that returned at least one request. */
  batches: number;
  /** Mean requests per non-empty drain. */
  meanBatch: number;
  /** Times Rust woke the parked JavaScript side. */
  wakes: number;
  /** Awaits taken by middleware chains and handlers. */
  hops: number;
  /** Hops per request handed to JavaScript. */
  hopsPerRequest: number;
  /** Requests refused with 503 because every slot was busy. */
  rejectedFull: number;
  /** Slots currently held (requests in JavaScript). */
  slotsInUse: number;
  /** Open connections. */
  connections: number;
  /** Answers committed after the client had gone. */
  abandoned: number;
  /** Requests answered 504 because the handler took longer than `handlerTimeoutMs`. */
  timeouts: number;
  /**
   * Requests Rust declared over while a handler held them (client gone,
   * timed out, expired at shutdown): their slots came back when JavaScript
   * released them, and the handlers' reads of them throw.
   */
  cancelled: number;
  /** Streamed responses still being sent. */
  streamsOpen: number;
  /** Stream chunks Rust received (several writes between two commits make one). */
  chunksIn: number;
  /** Stream chunks Rust handed to hyper. */
  chunksOut: number;
  /** FFI calls per stream chunk received (commits are shared with everything else). */
  ffiCallsPerChunk: number;
  /** WebSockets open now (`app.ws`). */
  socketsOpen: number;
  /** WebSockets opened since the server started. */
  socketsOpened: number;
  /** WebSocket messages received (whole, after joining fragments). */
  wsMessagesIn: number;
  /** WebSocket messages queued to go out (each delivery of a publish counts). */
  wsMessagesOut: number;
  /** `publish` actions (one per call, however many subscribers). */
  wsPublishes: number;
  /** Messages dropped: the socket was closing, or past its backpressure limit. */
  wsDropped: number;
  /** FFI calls per WebSocket message in or out (the calls are shared with requests). */
  ffiCallsPerMessage: number;
}

/** The FFI calls and hops the TypeScript side counts (internal). */
export interface Counters extends HopCounter {
  drain: number;
  wait: number;
  commit: number;
  setBody: number;
  readOverflow: number;
}

/** `server.stats()` from Rust's numbers and the TypeScript counters (internal). */
export function statsOf(
  native: Float64Array,
  c: Counters,
  streamWrites: number,
  ws: WsCounters | undefined,
): ServerStats {
  const [requests, toJs, nativeAnswers, wakes, full, drained, batches] = native;
  const total = c.drain + c.wait + c.commit + c.setBody + c.readOverflow + streamWrites +
    (ws === undefined ? 0 : ws.wsSend + ws.wsTake);
  return {
    requests,
    toJs,
    native: nativeAnswers,
    ffiCalls: {
      drain: c.drain,
      wait: c.wait,
      commit: c.commit,
      setBody: c.setBody,
      readOverflow: c.readOverflow,
      streamWrite: streamWrites,
      total,
    },
    ffiCallsPerRequest: toJs ? total / toJs : 0,
    batches,
    meanBatch: batches ? drained / batches : 0,
    wakes,
    hops: c.hops,
    hopsPerRequest: toJs ? c.hops / toJs : 0,
    rejectedFull: full,
    slotsInUse: native[8],
    connections: native[9],
    abandoned: native[10],
    timeouts: native[11],
    cancelled: native[12],
    streamsOpen: native[13],
    chunksIn: native[14],
    chunksOut: native[15],
    ffiCallsPerChunk: native[14] ? total / (toJs + native[14]) : 0,
    socketsOpen: native[17],
    socketsOpened: native[18],
    wsMessagesIn: native[19],
    wsMessagesOut: native[20],
    wsPublishes: native[22],
    wsDropped: native[23] + (ws?.dropped ?? 0),
    ffiCallsPerMessage: native[19] + native[20] ? total / (native[19] + native[20]) : 0,
  };
}
