// A raw WebSocket client over Deno.connect, for tests that need what a
// browser's WebSocket hides: any handshake header, frames sent as chosen
// (fragments, invalid UTF-8, oversize, pings), no automatic pong, and an
// abrupt TCP close. Frames are masked as RFC 6455 §5.3 requires.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Frame opcodes (RFC 6455 §5.2). */
export const Op = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** One frame as read from the server. */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** A whole message, or the close frame's code and reason. */
export type Received =
  | { kind: "text"; text: string }
  | { kind: "binary"; bytes: Uint8Array }
  | { kind: "ping"; bytes: Uint8Array }
  | { kind: "pong"; bytes: Uint8Array }
  | { kind: "close"; code: number; reason: string }
  | { kind: "end" };

/** What the server answered an upgrade request that was not accepted. */
export interface Refusal {
  status: number;
  head: string;
  body: string;
}

/** Options of an upgrade request. */
export interface HandshakeOptions {
  /** Extra or replacing headers (a `null` value leaves the header out). */
  headers?: Record<string, string | null>;
  /** How long to wait for the answer's head. @default 5000 */
  timeoutMs?: number;
  /** Size of the socket's read buffer (small for crowds). @default 65536 */
  readBytes?: number;
}

/** Bytes read from a connection, with a read position. */
class Inbox {
  #buf = new Uint8Array(1024);
  #start = 0;
  #end = 0;

  get size(): number {
    return this.#end - this.#start;
  }

  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buf.length) {
      const size = this.size;
      const need = size + chunk.length;
      if (need > this.#buf.length / 2) {
        let cap = this.#buf.length;
        while (cap < need * 2) cap *= 2;
        const grown = new Uint8Array(cap);
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = size;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  peek(n: number): Uint8Array {
    return this.#buf.subarray(this.#start, this.#start + n);
  }

  /** Takes `n` bytes (a copy). */
  take(n: number): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  indexOf(pattern: Uint8Array): number {
    const buf = this.#buf;
    outer: for (let i = this.#start; i + pattern.length <= this.#end; i++) {
      for (let j = 0; j < pattern.length; j++) {
        if (buf[i + j] !== pattern[j]) continue outer;
      }
      return i - this.#start;
    }
    return -1;
  }
}

/** Masks (or unmasks) `payload` with `key`, in place. */
function mask(payload: Uint8Array, key: Uint8Array): void {
  for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
}

/** Encodes one client frame (masked). */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(),
  fin = true,
): Uint8Array {
  const body = typeof payload === "string" ? encoder.encode(payload) : payload.slice();
  const len = body.length;
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + extra + 4 + len);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  const view = new DataView(frame.buffer);
  if (extra === 0) frame[1] = 0x80 | len;
  else if (extra === 2) {
    frame[1] = 0x80 | 126;
    view.setUint16(2, len);
  } else {
    frame[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(len));
  }
  const key = crypto.getRandomValues(new Uint8Array(4));
  frame.set(key, 2 + extra);
  mask(body, key);
  frame.set(body, 2 + extra + 4);
  return frame;
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason = ""): Uint8Array {
  const text = encoder.encode(reason);
  const out = new Uint8Array(2 + text.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/** An open connection after a 101. */
export class RawSocket {
  readonly conn: Deno.TcpConn;
  #inbox: Inbox;
  #ended = false;
  #readBuf: Uint8Array;

  constructor(conn: Deno.TcpConn, inbox: Inbox, readBytes = 64 * 1024) {
    this.conn = conn;
    this.#inbox = inbox;
    this.#readBuf = new Uint8Array(readBytes);
  }

  /** Writes raw bytes (one or more encoded frames). */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    for (let i = 0; off < bytes.length && i < 1_000_000; i++) {
      off += await this.conn.write(bytes.subarray(off));
    }
  }

  /** Sends one frame. */
  frame(opcode: number, payload: Uint8Array | string = new Uint8Array(), fin = true) {
    return this.write(encodeFrame(opcode, payload, fin));
  }

  /** Sends a whole message: a string as text, bytes as binary. */
  send(message: string | Uint8Array): Promise<void> {
    return typeof message === "string"
      ? this.frame(Op.TEXT, message)
      : this.frame(Op.BINARY, message);
  }

  /** Sends a close frame. */
  close(code: number, reason = ""): Promise<void> {
    return this.frame(Op.CLOSE, closePayload(code, reason));
  }

  /** Reads more bytes; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    let n: number | null = null;
    try {
      n = await this.conn.read(this.#readBuf);
    } catch {
      n = null;
    }
    if (n === null) {
      this.#ended = true;
      return false;
    }
    this.#inbox.push(this.#readBuf.subarray(0, n));
    return true;
  }

  /** The next frame, or null at the end of the stream. */
  async readFrame(): Promise<Frame | null> {
    const inbox = this.#inbox;
    for (let i = 0; i < 1_000_000; i++) {
      if (inbox.size >= 2) {
        const head = inbox.peek(2);
        if (head[1] & 0x80) throw new Error("the server sent a masked frame");
        let len = head[1] & 0x7f;
        let at = 2;
        if (len === 126) at = 4;
        else if (len === 127) at = 10;
        if (inbox.size >= at) {
          const ext = inbox.peek(at);
          const view = new DataView(ext.buffer, ext.byteOffset, at);
          if (at === 4) len = view.getUint16(2);
          else if (at === 10) len = Number(view.getBigUint64(2));
          if (inbox.size >= at + len) {
            inbox.take(at);
            return {
              fin: (head[0] & 0x80) !== 0,
              opcode: head[0] & 0x0f,
              payload: inbox.take(len),
            };
          }
        }
      }
      if (!(await this.#fill())) return null;
    }
    throw new Error("readFrame: gave up");
  }

  /**
   * The next message (fragments joined) or control frame. Never answers a
   * ping by itself: tests decide.
   */
  async next(): Promise<Received> {
    let kind = -1;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      const frame = await this.readFrame();
      if (frame === null) return { kind: "end" };
      switch (frame.opcode) {
        case Op.PING:
          return { kind: "ping", bytes: frame.payload };
        case Op.PONG:
          return { kind: "pong", bytes: frame.payload };
        case Op.CLOSE: {
          const p = frame.payload;
          const code = p.length >= 2 ? (p[0] << 8) | p[1] : 1005;
          return { kind: "close", code, reason: decoder.decode(p.subarray(2)) };
        }
      }
      if (frame.opcode !== Op.CONTINUATION) kind = frame.opcode;
      parts.push(frame.payload);
      if (!frame.fin) continue;
      const whole = parts.length === 1 ? parts[0] : concat(parts);
      return kind === Op.TEXT
        ? { kind: "text", text: decoder.decode(whole) }
        : { kind: "binary", bytes: whole };
    }
    throw new Error("next: gave up");
  }

  /** The next message, answering pings on the way; fails on anything else. */
  async message(): Promise<string | Uint8Array> {
    for (let i = 0; i < 1000; i++) {
      const got = await this.next();
      if (got.kind === "text") return got.text;
      if (got.kind === "binary") return got.bytes;
      if (got.kind === "ping") {
        await this.frame(Op.PONG, got.bytes);
        continue;
      }
      throw new Error(`expected a message, got ${JSON.stringify(got)}`);
    }
    throw new Error("message: gave up");
  }

  /** Answers the server's close (if it sent one) and ends the connection. */
  async finish(code = 1000): Promise<void> {
    try {
      await this.close(code);
      for (let i = 0; i < 10_000; i++) {
        const got = await this.next();
        if (got.kind === "close" || got.kind === "end") break;
      }
    } catch { /* the server may be gone already */ }
    this.abort();
  }

  /** Closes the TCP connection without a close frame. */
  abort(): void {
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A fresh `Sec-WebSocket-Key`. */
export function newKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/** The accept value the server must answer `key` with. */
export async function acceptOf(key: string): Promise<string> {
  const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const hash = await crypto.subtle.digest("SHA-1", encoder.encode(key + guid));
  return btoa(String.fromCharCode(...new Uint8Array(hash)));
}

/**
 * Sends an upgrade request for `path` and reads the answer's head: a
 * `RawSocket` for a 101 (with its accept value checked), or the refusal.
 */
export async function handshake(
  port: number,
  path: string,
  options: HandshakeOptions = {},
): Promise<RawSocket | Refusal> {
  const key = newKey();
  const fields: Record<string, string | null> = {
    host: `127.0.0.1:${port}`,
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": key,
    "sec-websocket-version": "13",
    ...options.headers,
  };
  let request = `GET ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null) request += `${name}: ${value}\r\n`;
  }
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), options.timeoutMs ?? 5000);
  try {
    await conn.write(encoder.encode(request + "\r\n"));
    const inbox = new Inbox();
    const buf = new Uint8Array(4 * 1024);
    const crlf2 = encoder.encode("\r\n\r\n");
    let end = -1;
    for (let i = 0; i < 1000 && end < 0; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      inbox.push(buf.subarray(0, n));
      end = inbox.indexOf(crlf2);
    }
    if (end < 0) throw new Error(`no answer head for ${path}`);
    const head = decoder.decode(inbox.take(end + 4));
    const status = Number(head.split(" ")[1]);
    if (status === 101) {
      const accept = /^sec-websocket-accept: *(.*)$/im.exec(head)?.[1]?.trim();
      if (accept !== await acceptOf(key)) throw new Error(`wrong accept value in ${head}`);
      clearTimeout(timer);
      return new RawSocket(conn, inbox, options.readBytes);
    }
    const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? 0);
    for (let i = 0; i < 1000 && inbox.size < length; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      inbox.push(buf.subarray(0, n));
    }
    const body = decoder.decode(inbox.take(Math.min(length, inbox.size)));
    clearTimeout(timer);
    conn.close();
    return { status, head, body };
  } catch (error) {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
    throw error;
  }
}

/** `handshake()` that must succeed. */
export async function connect(
  port: number,
  path: string,
  options?: HandshakeOptions,
): Promise<RawSocket> {
  const out = await handshake(port, path, options);
  if (out instanceof RawSocket) return out;
  throw new Error(`upgrade of ${path} refused: ${out.status}\n${out.head}${out.body}`);
}

/** `handshake()` that must be refused. */
export async function refused(
  port: number,
  path: string,
  options?: HandshakeOptions,
): Promise<Refusal> {
  const out = await handshake(port, path, options);
  if (!(out instanceof RawSocket)) return out;
  out.abort();
  throw new Error(`upgrade of ${path} was accepted`);
}

/** Runs `fn` over `items`, at most `width` at a time. */
export async function pooled<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}
