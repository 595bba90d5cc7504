// Writes a Reply into its slot's response record (ffi/src/layout.rs `res`).
// Text goes in with TextEncoder.encodeInto, straight into the arena; a body
// that does not fit is handed to Rust once with ferry_set_body.

import { Res } from "./_layout.ts";
import type { Reply } from "./reply.ts";

const encoder = new TextEncoder();
// CR, LF and NUL would let a header value forge another header line.
const FORBIDDEN = /[\r\n\0]/;
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

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

  /** Writes `reply` as slot `slot`'s response. */
  write(slot: number, reply: Reply): void {
    const start = slot * this.#slotBytes + this.#reqBytes;
    const end = start + this.#resBytes;
    const headStart = start + Res.HEADER_BYTES;
    const head = headerText(reply);
    const u8 = this.#u8;
    let headLen = 0;
    if (head.length > 0) {
      const done = encoder.encodeInto(head, u8.subarray(headStart, end));
      if (done.read < head.length) {
        throw new RangeError(
          `Response headers are larger than responseSlotBytes (${this.#resBytes}); raise it in listen() options.`,
        );
      }
      headLen = done.written;
    }
    const bodyStart = headStart + headLen;
    const room = end - bodyStart;
    const body = reply.body;
    let bodyLen = 0;
    let flags = 0;
    if (typeof body === "string") {
      let fitted = false;
      if (body.length <= room) {
        const done = encoder.encodeInto(body, u8.subarray(bodyStart, end));
        fitted = done.read === body.length;
        bodyLen = done.written;
      }
      if (!fitted) {
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
}

function headerText(reply: Reply): string {
  let head = "";
  reply.forEachHeader((name, value) => {
    if (FORBIDDEN.test(value) || !NAME.test(name)) {
      console.error(
        `ferry: refused response header ${
          JSON.stringify(name)
        }: names must be tokens and values must not contain CR, LF or NUL`,
      );
      return;
    }
    head += name + ":" + value + "\n";
  });
  return head;
}
