/**
 * WebSockets: `app.ws(path, handlers, options)`. Rust does the handshake,
 * framing, masking, fragments, UTF-8 checks, ping/pong and the close
 * handshake (fastwebsockets); messages of every socket cross to JavaScript
 * in the batched pump, sends cross back with the next commit, and topics
 * (`subscribe` / `publish`) fan out in Rust. See docs/websockets.md.
 *
 * @module
 */

import type { Context } from "./context.ts";
import type { Env } from "./types.ts";
import type { Reply } from "./reply.ts";

/** What a handler receives: text as a string, binary as bytes. */
export type WebSocketMessage = string | Uint8Array;

/** What `ws.send()` and `publish()` accept. */
export type WebSocketData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * An open WebSocket, as handlers see it.
 *
 * @example Echo, and a room every socket of a path joins
 * ```ts
 * import { App } from "@ferry/ferry";
 * new App().ws("/rooms/:room", {
 *   open(ws) { ws.subscribe(`room:${ws.params.room}`); },
 *   message(ws, message) { ws.publish(`room:${ws.params.room}`, message); },
 * });
 * ```
 */
export interface ServerWebSocket<D = unknown> {
  /** What `upgrade()` returned (`undefined` without an `upgrade`). */
  readonly data: D;
  /** The route's path parameters. */
  readonly params: Readonly<Record<string, string>>;
  /** The client's address as `ip:port`. */
  readonly remoteAddress: string;
  /** 1 open, 2 closing (a close was sent), 3 closed, as `WebSocket.readyState`. */
  readonly readyState: 1 | 2 | 3;
  /**
   * Bytes waiting to go out: sent by this socket in the current batch, plus
   * what Rust has queued and the kernel has not taken yet.
   */
  readonly bufferedAmount: number;
  /** Topics this socket is subscribed to. */
  readonly subscriptions: readonly string[];
  /**
   * Sends a message (a string as text, bytes as binary). Returns the bytes
   * sent; `-1` when it was queued behind bytes the client has not taken
   * yet (backpressure: `drain` fires once they are written); `0` when it
   * was dropped (the socket is closing or closed, or past
   * `backpressureLimitBytes`: the socket then closes with 1008, or with
   * `onBackpressure: "drop"` only this message is dropped).
   */
  send(message: WebSocketData): number;
  /**
   * Starts the close handshake with `code` (1000, or 3000–4999) and a
   * reason of at most 123 UTF-8 bytes. `close` runs once the client answers
   * (or after 5 s without an answer, with 1006).
   */
  close(code?: number, reason?: string): void;
  /** Sends a ping (at most 125 bytes); the client's pong needs no handler. */
  ping(data?: WebSocketData): void;
  /** Joins `topic`: `publish(topic, …)` reaches this socket. */
  subscribe(topic: string): void;
  /** Leaves `topic`. */
  unsubscribe(topic: string): void;
  /** Whether the socket is subscribed to `topic`. */
  isSubscribed(topic: string): boolean;
  /**
   * Sends a message to every subscriber of `topic` except this socket,
   * fanned out in Rust (one action however many subscribers). Returns the
   * message's bytes, or 0 when nobody else is subscribed.
   */
  publish(topic: string, message: WebSocketData): number;
}

/**
 * A WebSocket route's handlers. All are optional; each may be async (a
 * rejected promise is logged, and the socket closes with 1011).
 *
 * @example Authentication in `upgrade`, then a chat room
 * ```ts
 * import { App } from "@ferry/ferry";
 * new App().ws("/chat", {
 *   upgrade(c) {
 *     const user = c.query.get("user");
 *     if (!user) return c.text("sign in first", 401); // an ordinary answer refuses
 *     return { user }; // becomes ws.data
 *   },
 *   open(ws) { ws.subscribe("chat"); },
 *   message(ws, text) { ws.publish("chat", `${ws.data.user}: ${text}`); },
 *   close(ws, code, reason) { console.log(ws.data.user, "left", code, reason); },
 * });
 * ```
 */
export interface WebSocketHandlers<D = undefined, E extends Env = Env, P extends string = string> {
  /**
   * Runs for the upgrade request, after the route's before-middleware (and
   * native middleware such as rate limits, CORS and request ids). Return
   * the socket's `data` to accept, or a `Response` / `Reply` (anything a
   * handler answers with, such as `c.text("no", 401)`) to refuse.
   */
  upgrade?(c: Context<E, P>): D | Reply | Response | Promise<D | Reply | Response>;
  /** The socket is open. */
  open?(ws: ServerWebSocket<D>): void | Promise<void>;
  /** A message arrived: text as a string, binary as bytes. */
  message?(ws: ServerWebSocket<D>, message: WebSocketMessage): void | Promise<void>;
  /**
   * The socket closed: `code` and `reason` from the client's close frame
   * (1005 without a code), or 1006 for a connection that broke, or the
   * code Ferry closed it with (1002, 1007, 1008, 1009, 1001).
   */
  close?(ws: ServerWebSocket<D>, code: number, reason: string): void | Promise<void>;
  /** The send buffer emptied after a `send()` that returned -1. */
  drain?(ws: ServerWebSocket<D>): void | Promise<void>;
}

/**
 * A WebSocket route's limits.
 *
 * @example
 * ```ts
 * import { App } from "@ferry/ferry";
 * new App().ws("/feed", {}, { maxPayloadBytes: 64 * 1024, idleTimeoutMs: 30_000 });
 * ```
 */
export interface WebSocketOptions {
  /** Largest message, after joining fragments; past it the socket closes with 1009. @default 16 MiB */
  maxPayloadBytes?: number;
  /**
   * Silence (no frame from the client) after which the socket is pinged
   * (at half) and closed with 1001 (at the whole); 0 turns it off.
   * @default 120_000
   */
  idleTimeoutMs?: number;
  /** Bytes a socket may have waiting to be written. @default 1 MiB */
  backpressureLimitBytes?: number;
  /** Past `backpressureLimitBytes`: close with 1008, or drop the message. @default "close" */
  onBackpressure?: "close" | "drop";
}

/** The options as Rust reads them (internal). */
export interface ResolvedWebSocketOptions {
  maxPayloadBytes: number;
  idleTimeoutMs: number;
  backpressureLimitBytes: number;
  dropOnBackpressure: boolean;
}

/** Checks and fills in a route's options (internal). */
export function resolveWebSocketOptions(
  path: string,
  options: WebSocketOptions = {},
): ResolvedWebSocketOptions {
  const whole = (name: keyof WebSocketOptions, fallback: number, min: number): number => {
    const value = options[name] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      throw new RangeError(
        `app.ws("${path}"): ${name} must be a whole number of at least ${min}, got ${value}`,
      );
    }
    return value;
  };
  const mode = options.onBackpressure ?? "close";
  if (mode !== "close" && mode !== "drop") {
    throw new RangeError(
      `app.ws("${path}"): onBackpressure must be "close" or "drop", got ${mode}`,
    );
  }
  return {
    maxPayloadBytes: whole("maxPayloadBytes", 16 * 1024 * 1024, 1),
    idleTimeoutMs: whole("idleTimeoutMs", 120_000, 0),
    backpressureLimitBytes: whole("backpressureLimitBytes", 1024 * 1024, 1),
    dropOnBackpressure: mode === "drop",
  };
}
