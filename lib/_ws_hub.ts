// The JavaScript half of WebSockets (ffi/src/ws/): reads the events each
// pump's drain leaves in the shared WebSocket area, runs the handlers, and
// queues sends, closes, publishes and subscriptions as actions in the same
// area for the next commit. A message costs no FFI call of its own; only a
// payload larger than the area's 256 KiB does (`ferry_ws_send`,
// `ferry_ws_take`).

import { Ws } from "./_layout.ts";
import { bytesOf, Socket } from "./_ws_socket.ts";
import type { Native } from "./_symbols.ts";
import type { WebSocketData, WebSocketHandlers, WebSocketMessage } from "./websocket.ts";

/** What an accepted upgrade leaves for its socket's open event. */
export interface UpgradeTicket {
  // deno-lint-ignore no-explicit-any
  handlers: WebSocketHandlers<any, any, any>;
  data: unknown;
  params: Record<string, string>;
  remoteAddress: string;
  backpressureLimit: number;
  dropOnBackpressure: boolean;
}

/** Internal marker a `Reply` carries when it accepts an upgrade. */
export const UPGRADE = Symbol("ferry.upgrade");

/** Counters for `server.stats()`. */
export interface WsCounters {
  /** `ferry_ws_send` calls (payloads larger than the outbound area). */
  wsSend: number;
  /** `ferry_ws_take` calls (payloads larger than the inbound area). */
  wsTake: number;
  /** Commits made because the action area filled up mid-batch. */
  wsFlush: number;
  /** Messages handed to `message` handlers. */
  messages: number;
  /** Sends refused here, before Rust saw them (closing, or past the limit). */
  dropped: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The WebSocket side of one server: the area's views, the sockets by
 * index, the upgrades waiting for their open event, and the action queue.
 */
export class WsHub {
  #lib: Native;
  #id: number;
  #u8: Uint8Array;
  #u32: Uint32Array;
  #inAt: number;
  #outAt: number;
  #sockets: (Socket | undefined)[] = [];
  #upgrades = new Map<string, UpgradeTicket>();
  #topics = new Map<string, number>();
  /** Bytes of the outbound area used since the last commit. */
  #outUsed = 0;
  /** Bumped whenever a commit emptied the action queue. */
  #epoch = 0;
  #commitNow: () => void;
  #scheduleCommit: () => void;
  readonly counters: WsCounters = {
    wsSend: 0,
    wsTake: 0,
    wsFlush: 0,
    messages: 0,
    dropped: 0,
  };

  constructor(
    lib: Native,
    id: number,
    maxSockets: number,
    commitNow: () => void,
    scheduleCommit: () => void,
  ) {
    this.#lib = lib;
    this.#id = id;
    this.#commitNow = commitNow;
    this.#scheduleCommit = scheduleCommit;
    this.#inAt = (Ws.BUFFERED_AT + maxSockets) * 4;
    this.#outAt = this.#inAt + Ws.IN_BYTES;
    const size = this.#outAt + Ws.OUT_BYTES;
    const buffer = Deno.UnsafePointerView.getArrayBuffer(lib.ferry_ws_area(id)!, size);
    this.#u8 = new Uint8Array(buffer);
    this.#u32 = new Uint32Array(buffer);
  }

  /** Sockets JavaScript holds now. */
  get open(): number {
    let n = 0;
    for (const s of this.#sockets) if (s !== undefined) n++;
    return n;
  }

  /** An upgrade was accepted for `(slot, generation)`: its socket opens later. */
  expect(slot: number, generation: number, ticket: UpgradeTicket): void {
    this.#upgrades.set(`${slot}:${generation}`, ticket);
  }

  /** Handles the events of the last drain; returns how many there were. */
  deliver(): number {
    const u32 = this.#u32;
    const n = u32[Ws.EVENT_COUNT];
    if (n === 0) return 0;
    u32[Ws.EVENT_COUNT] = 0;
    for (let i = 0; i < n; i++) {
      const at = Ws.EVENTS_AT + i * Ws.WORDS;
      const head = u32[at];
      const generation = u32[at + 1];
      const offset = u32[at + 2];
      const length = u32[at + 3];
      const kind = head >>> Ws.KIND_SHIFT;
      const index = head & Ws.INDEX_MASK;
      const bytes = kind & Ws.OUTSIDE
        ? this.#take(offset, length)
        : this.#u8.subarray(this.#inAt + offset, this.#inAt + offset + length);
      switch (kind & ~Ws.OUTSIDE) {
        case Ws.TEXT:
        case Ws.BINARY: {
          const socket = this.#live(index, generation);
          if (socket === undefined) break;
          const message: WebSocketMessage = (kind & ~Ws.OUTSIDE) === Ws.TEXT
            ? decoder.decode(bytes)
            : (kind & Ws.OUTSIDE ? bytes : bytes.slice());
          this.counters.messages++;
          this.#call(socket, "message", message);
          break;
        }
        case Ws.OPEN:
          this.#open(index, generation, bytes);
          break;
        case Ws.CLOSE:
          this.#closed(index, generation, bytes);
          break;
        case Ws.DRAIN: {
          const socket = this.#live(index, generation);
          if (socket !== undefined) this.#call(socket, "drain");
          break;
        }
        case Ws.FAILED:
          this.#upgrades.delete(pairKey(bytes));
          break;
      }
    }
    return n;
  }

  #take(ticket: number, length: number): Uint8Array {
    this.counters.wsTake++;
    const out = new Uint8Array(length);
    this.#lib.ferry_ws_take(this.#id, ticket, out, length);
    return out;
  }

  #live(index: number, generation: number): Socket | undefined {
    const socket = this.#sockets[index];
    return socket !== undefined && socket.generation === generation ? socket : undefined;
  }

  #open(index: number, generation: number, pair: Uint8Array): void {
    const key = pairKey(pair);
    const ticket = this.#upgrades.get(key);
    this.#upgrades.delete(key);
    if (ticket === undefined) {
      // Not ours (cannot happen while the protocol holds): close it.
      this.action(Ws.CLOSE_SOCKET, index, generation, closePayload(1011, new Uint8Array()));
      return;
    }
    const socket = new Socket(this, index, generation, ticket);
    this.#sockets[index] = socket;
    this.#call(socket, "open");
  }

  #closed(index: number, generation: number, payload: Uint8Array): void {
    const socket = this.#live(index, generation);
    if (socket === undefined) return;
    this.#sockets[index] = undefined;
    socket.readyState = 3;
    for (const topic of socket.topics) this.subscribed(topic, -1);
    socket.topics.clear();
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
    const reason = decoder.decode(payload.subarray(2));
    this.action(Ws.RELEASE, index, generation, null);
    this.#call(socket, "close", code, reason);
  }

  /** Runs a handler; a throw or a rejection is logged and closes with 1011. */
  #call(socket: Socket, name: "open" | "message" | "close" | "drain", ...args: unknown[]): void {
    // deno-lint-ignore no-explicit-any
    const handler = (socket.ticket.handlers as any)[name];
    if (handler === undefined) return;
    const fail = (error: unknown) => {
      if (socket.failed) return;
      socket.failed = true;
      console.error(`ferry: a WebSocket ${name} handler threw; closing the socket (1011):`, error);
      if (socket.readyState === 1) this.close(socket, 1011, encoder.encode("server error"));
    };
    try {
      const out = handler.call(socket.ticket.handlers, socket, ...args);
      if (out instanceof Promise) out.catch(fail);
    } catch (error) {
      fail(error);
    }
  }

  /** The socket's buffered amount: this batch's sends plus Rust's queue. */
  buffered(socket: Socket): number {
    this.#sync();
    const pending = socket.epoch === this.#epoch ? socket.pending : 0;
    return pending + (socket.readyState === 3 ? 0 : this.#u32[Ws.BUFFERED_AT + socket.index]);
  }

  send(socket: Socket, message: WebSocketData): number {
    if (socket.readyState !== 1) {
      this.counters.dropped++;
      return 0;
    }
    const text = typeof message === "string";
    const payload = text ? message : bytesOf(message);
    // UTF-16 units stand in for a string's bytes in the limit check; the
    // exact count comes back from the encode.
    const estimate = text ? message.length : (payload as Uint8Array).length;
    const waiting = this.#u32[Ws.BUFFERED_AT + socket.index];
    const buffered = this.buffered(socket);
    if (buffered > 0 && buffered + estimate > socket.ticket.backpressureLimit) {
      this.counters.dropped++;
      if (!socket.ticket.dropOnBackpressure) {
        this.close(socket, 1008, encoder.encode("backpressure limit reached"));
      }
      return 0;
    }
    // Queued behind bytes the client has not taken: ask for a drain event.
    const kind = (text ? Ws.SEND_TEXT : Ws.SEND_BINARY) | (waiting > 0 ? Ws.WANT_DRAIN : 0);
    const alone = this.counters.wsSend;
    const sent = this.action(kind, socket.index, socket.generation, payload);
    if (sent < 0) return 0;
    // A payload too large for the area went on its own (`ferry_ws_send`):
    // Rust's buffered amount counts it already, and no commit would clear it.
    if (this.counters.wsSend !== alone) return waiting > 0 ? -1 : sent;
    if (socket.epoch !== this.#epoch) {
      socket.epoch = this.#epoch;
      socket.pending = 0;
    }
    socket.pending += sent;
    return waiting > 0 ? -1 : sent;
  }

  close(socket: Socket, code: number, reason: Uint8Array): void {
    if (socket.readyState !== 1) return;
    socket.readyState = 2;
    this.action(Ws.CLOSE_SOCKET, socket.index, socket.generation, closePayload(code, reason));
  }

  /** Publishes to `topic` from a socket, or from the server (`Ws.NO_SOCKET`). */
  publish(
    topic: string,
    message: WebSocketData,
    index: number = Ws.NO_SOCKET,
    generation = 0,
  ): number {
    const text = typeof message === "string";
    const body = text ? encoder.encode(message) : bytesOf(message);
    const name = encoder.encode(topic);
    const payload = new Uint8Array(4 + name.length + body.length);
    new DataView(payload.buffer).setUint32(0, name.length, true);
    payload.set(name, 4);
    payload.set(body, 4 + name.length);
    this.action(text ? Ws.PUBLISH_TEXT : Ws.PUBLISH_BINARY, index, generation, payload);
    return body.length;
  }

  /** Subscribers of `topic` (tracked here: every change goes through JavaScript). */
  subscriberCount(topic: string): number {
    return this.#topics.get(topic) ?? 0;
  }

  subscribed(topic: string, delta: number): void {
    const n = (this.#topics.get(topic) ?? 0) + delta;
    if (n > 0) this.#topics.set(topic, n);
    else this.#topics.delete(topic);
  }

  /** A commit applied the queue (Rust zeroed its count): start over. */
  #sync(): void {
    if (this.#outUsed > 0 && this.#u32[Ws.ACTION_COUNT] === 0) {
      this.#outUsed = 0;
      this.#epoch++;
    }
  }

  /**
   * Queues an action with its payload (a string is encoded straight into
   * the area). Returns the payload's bytes, or -1 when Rust refused a
   * payload sent on its own.
   */
  action(
    kind: number,
    index: number,
    generation: number,
    payload: string | Uint8Array | null,
  ): number {
    this.#sync();
    const u32 = this.#u32;
    let count = u32[Ws.ACTION_COUNT];
    if (count === 0 && this.#outUsed === 0) this.#scheduleCommit();
    let offset = this.#outUsed;
    let length = 0;
    if (payload !== null) {
      const room = Ws.OUT_BYTES - offset;
      const most = typeof payload === "string" ? payload.length * 3 : payload.length;
      if (most > room || count >= Ws.ACTIONS) {
        const size = typeof payload === "string" ? byteLength(payload) : payload.length;
        if (size > Ws.OUT_BYTES) {
          // Larger than the whole area: on its own, after what is queued.
          this.counters.wsSend++;
          const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
          const code = this.#lib.ferry_ws_send(
            this.#id,
            kind,
            index,
            generation,
            bytes,
            bytes.length,
          );
          // 0: Rust dropped it (the socket is closing, or past its limit).
          return code <= 0 ? -1 : bytes.length;
        }
        if (size > room || count >= Ws.ACTIONS) {
          this.counters.wsFlush++;
          this.#commitNow();
          this.#sync();
          count = u32[Ws.ACTION_COUNT];
          offset = this.#outUsed;
        }
      }
      const start = this.#outAt + offset;
      if (typeof payload === "string") {
        length = encoder.encodeInto(payload, this.#u8.subarray(start, this.#outAt + Ws.OUT_BYTES))
          .written;
      } else {
        this.#u8.set(payload, start);
        length = payload.length;
      }
    } else if (count >= Ws.ACTIONS) {
      this.counters.wsFlush++;
      this.#commitNow();
      this.#sync();
      count = u32[Ws.ACTION_COUNT];
      offset = this.#outUsed;
    }
    const at = Ws.ACTIONS_AT + count * Ws.WORDS;
    u32[at] = (kind << Ws.KIND_SHIFT | index) >>> 0;
    u32[at + 1] = generation;
    u32[at + 2] = offset;
    u32[at + 3] = length;
    u32[Ws.ACTION_COUNT] = count + 1;
    // At least one byte, so `#sync` notices the commit even for empty payloads.
    this.#outUsed = offset + Math.max(length, 1);
    return length;
  }

  /** Whether actions wait for a commit. */
  get dirty(): boolean {
    return this.#u32[Ws.ACTION_COUNT] > 0;
  }

  /** The server closed: every socket still open gets its close (1006). */
  closeAll(): void {
    for (const socket of this.#sockets) {
      if (socket === undefined) continue;
      this.#sockets[socket.index] = undefined;
      socket.readyState = 3;
      this.#call(socket, "close", 1006, "the server shut down");
    }
    this.#upgrades.clear();
  }
}

function pairKey(pair: Uint8Array): string {
  const view = new DataView(pair.buffer, pair.byteOffset, 8);
  return `${view.getUint32(0, true)}:${view.getUint32(4, true)}`;
}

function closePayload(code: number, reason: Uint8Array): Uint8Array {
  const payload = new Uint8Array(2 + reason.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(reason, 2);
  return payload;
}

/** UTF-8 length of a string, without encoding it. */
function byteLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}
