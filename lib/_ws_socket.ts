// One WebSocket as handlers see it (`ServerWebSocket`): its data, its
// topics, and sends and closes that become actions of its hub.

import { Ws } from "./_layout.ts";
import type { UpgradeTicket, WsHub } from "./_ws_hub.ts";
import type { ServerWebSocket, WebSocketData } from "./websocket.ts";

const encoder = new TextEncoder();

export function bytesOf(data: WebSocketData): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new TypeError(
    `a WebSocket message must be a string, Uint8Array, ArrayBuffer or typed array, got ${typeof data}`,
  );
}

/** One socket as handlers see it. */
export class Socket implements ServerWebSocket<unknown> {
  readonly data: unknown;
  readonly params: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  readyState: 1 | 2 | 3 = 1;
  /** Bytes sent in the current batch (`epoch`), not yet committed. */
  pending = 0;
  epoch = 0;
  topics = new Set<string>();
  failed = false;

  constructor(
    readonly hub: WsHub,
    readonly index: number,
    readonly generation: number,
    readonly ticket: UpgradeTicket,
  ) {
    this.data = ticket.data;
    this.params = ticket.params;
    this.remoteAddress = ticket.remoteAddress;
  }

  get bufferedAmount(): number {
    return this.hub.buffered(this);
  }

  get subscriptions(): readonly string[] {
    return [...this.topics];
  }

  send(message: WebSocketData): number {
    return this.hub.send(this, message);
  }

  close(code = 1000, reason = ""): void {
    if (code !== 1000 && (code < 3000 || code > 4999 || !Number.isInteger(code))) {
      throw new RangeError(`ws.close(): the code must be 1000 or 3000–4999, got ${code}`);
    }
    const text = encoder.encode(reason);
    if (text.length > 123) {
      throw new RangeError(
        `ws.close(): the reason must be at most 123 UTF-8 bytes, got ${text.length}`,
      );
    }
    this.hub.close(this, code, text);
  }

  ping(data: WebSocketData = ""): void {
    const payload = typeof data === "string" ? encoder.encode(data) : bytesOf(data);
    if (payload.length > 125) {
      throw new RangeError(`ws.ping(): at most 125 bytes, got ${payload.length}`);
    }
    if (this.readyState === 1) this.hub.action(Ws.PING, this.index, this.generation, payload);
  }

  subscribe(topic: string): void {
    if (this.readyState !== 1 || this.topics.has(topic)) return;
    this.topics.add(topic);
    this.hub.subscribed(topic, 1);
    this.hub.action(Ws.SUBSCRIBE, this.index, this.generation, encoder.encode(topic));
  }

  unsubscribe(topic: string): void {
    if (!this.topics.delete(topic)) return;
    this.hub.subscribed(topic, -1);
    this.hub.action(Ws.UNSUBSCRIBE, this.index, this.generation, encoder.encode(topic));
  }

  isSubscribed(topic: string): boolean {
    return this.topics.has(topic);
  }

  publish(topic: string, message: WebSocketData): number {
    if (this.readyState === 3) return 0;
    const others = this.hub.subscriberCount(topic) - (this.topics.has(topic) ? 1 : 0);
    if (others <= 0) return 0;
    return this.hub.publish(topic, message, this.index, this.generation);
  }
}
