// Writes a Reply into its slot's response record (ffi/src/layout.rs `res`).
// Text goes in with TextEncoder.encodeInto, straight into the arena; a body
// that does not fit is handed to Rust once with ferry_set_body.

import { Res } from "./_layout.ts";
import type { Reply } from "./reply.ts";

const encoder = new TextEncoder();

/**
 * Writes `text` at `at` if it is ASCII and fits before `end`; returns the
 * bytes written, or -1 (then the caller falls back to encodeInto). Short
 * bodies and headers are the common case, and a plain loop beats making a
 * subarray and calling into the encoder for them.
 */
function writeAscii(u8: Uint8Array, at: number, end: number, text: string): number {
  const n = text.length;
  if (n > 256 || at + n > end) return -1;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return -1;
    u8[at + i] = code;
  }
  return n;
}

/**
 * Writes header lines as Latin-1 bytes, as `Headers` and the wire mean them.
 * `Reply.sealed()` has refused any character above U+00FF already; this
 * throws rather than keep the low byte (U+010A would become LF and split
 * the line) should one ever get here.
 */
function writeLatin1(u8: Uint8Array, at: number, end: number, text: string): number {
  const n = text.length;
  if (at + n > end) return -1;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new RangeError("A response header reached the encoder unchecked");
    u8[at + i] = code;
  }
  return n;
}

function writeText(u8: Uint8Array, at: number, end: number, text: string): number {
  const fast = writeAscii(u8, at, end, text);
  if (fast >= 0) return fast;
  const done = encoder.encodeInto(text, u8.subarray(at, end));
  return done.read === text.length ? done.written : -1;
}

/** Callbacks the writer needs from the server. */
export interface BodySink {
  /** Hands a body too large for the slot to Rust. */
  setBody(slot: number, body: Uint8Array): void;
}

/** Encodes replies into response records of one arena. */
export class ReplyWriter {
  #u8: Uint8Array;
  #u32: Uint32Array;
  #slotBytes: number;
  #reqBytes: number;
  #resBytes: number;
  #sink: BodySink;
  /** Where `#putHeader` writes next, and the end of the record; -1 once full. */
  #at = 0;
  #end = 0;
  /**
   * Writes one header line at `#at`, straight from the reply's pairs: no
   * `name:value\n` string is built and flattened per answer. Bound once,
   * so `forEachHeader` costs no closure per answer.
   */
  #putHeader = (name: string, value: string): void => {
    const at = this.#at;
    if (at < 0) return;
    const end = this.#end;
    const u8 = this.#u8;
    const n = writeLatin1(u8, at, end - 1, name);
    if (n < 0) return void (this.#at = -1);
    u8[at + n] = 0x3a; // ':'
    const v = writeLatin1(u8, at + n + 1, end - 1, value);
    if (v < 0) return void (this.#at = -1);
    u8[at + n + 1 + v] = 0x0a; // '\n'
    this.#at = at + n + v + 2;
  };

  constructor(
    u8: Uint8Array,
    u32: Uint32Array,
    reqBytes: number,
    resBytes: number,
    sink: BodySink,
  ) {
    this.#u8 = u8;
    this.#u32 = u32;
    this.#reqBytes = reqBytes;
    this.#resBytes = resBytes;
    this.#slotBytes = reqBytes + resBytes;
    this.#sink = sink;
  }

  /** Writes `answer` (or the 500 that `sealed()` makes of it) as slot `slot`'s response. */
  write(slot: number, answer: Reply): void {
    const start = slot * this.#slotBytes + this.#reqBytes;
    const end = start + this.#resBytes;
    const headStart = start + Res.HEADER_BYTES;
    // The one header check (app.fetch makes the same one): a header that
    // could forge a line makes the reply a 500 that names it.
    const reply = answer.sealed();
    const u8 = this.#u8;
    this.#at = headStart;
    this.#end = end;
    reply.forEachHeader(this.#putHeader);
    if (this.#at < 0) return this.#writeOutside(slot, start, reply, reply.headerLines());
    const headLen = this.#at - headStart;
    const bodyStart = headStart + headLen;
    const room = end - bodyStart;
    const body = reply.body;
    let bodyLen = 0;
    let flags = 0;
    if (typeof body === "string") {
      bodyLen = body.length <= room ? writeText(u8, bodyStart, end, body) : -1;
      if (bodyLen < 0) {
        const bytes = encoder.encode(body);
        this.#sink.setBody(slot, bytes);
        bodyLen = bytes.length;
        flags = Res.FLAG_BODY_OUTSIDE;
      }
    } else if (body instanceof Uint8Array) {
      bodyLen = body.length;
      if (bodyLen <= room) {
        u8.set(body, bodyStart);
      } else {
        this.#sink.setBody(slot, body);
        flags = Res.FLAG_BODY_OUTSIDE;
      }
    }
    const w = start >>> 2;
    const u32 = this.#u32;
    u32[w + Res.STATUS] = reply.status;
    u32[w + Res.HEADERS_LEN] = headLen;
    u32[w + Res.BODY_LEN] = bodyLen;
    u32[w + Res.FLAGS] = flags;
  }

  /** Rare: headers too large for the slot go out with the body, in one buffer. */
  #writeOutside(slot: number, start: number, reply: Reply, head: string): void {
    const body = typeof reply.body === "string"
      ? encoder.encode(reply.body)
      : reply.body ?? new Uint8Array();
    const bytes = new Uint8Array(head.length + body.length);
    writeLatin1(bytes, 0, head.length, head);
    bytes.set(body, head.length);
    this.#sink.setBody(slot, bytes);
    const w = start >>> 2;
    this.#u32[w + Res.STATUS] = reply.status;
    this.#u32[w + Res.HEADERS_LEN] = head.length;
    this.#u32[w + Res.BODY_LEN] = body.length;
    this.#u32[w + Res.FLAGS] = Res.FLAG_HEAD_OUTSIDE;
  }
}
