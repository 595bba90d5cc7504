// Where a request's bytes come from: a native slot (the network path) or a
// Web Request already read into memory (app.fetch). FerryRequest decodes
// lazily from either, so nothing is decoded until a handler asks.

import { METHODS, Req } from "./_layout.ts";

/** The raw parts of one request. */
export interface RequestSource {
  /** Upper-case method. */
  method(): string;
  /** Raw path, still percent-encoded. */
  path(): string;
  /** Raw query string without `?`. */
  query(): string;
  /** Percent-decoded route parameter values, in pattern order. */
  paramValues(): string[];
  /** Header lines as `name:value\n` text with lower-case names. */
  headerText(): string;
  /** The body bytes; valid only while the request is in flight. */
  body(): Uint8Array;
  /** Remote address as `ip:port`, or "" when unknown. */
  remote(): string;
  /** Aborted when the client goes away before the answer is complete. */
  signal(): AbortSignal;
  /** The body as it streams in, or `null` when `body()` holds it whole. */
  bodyStream(): ReadableStream<Uint8Array> | null;
}

/** Opens the stream of a body that is still arriving (lib/server.ts). */
export type BodyOpener = (source: SlotSource) => ReadableStream<Uint8Array>;

const utf8 = new TextDecoder();

/** Decodes bytes as Latin-1 (one char per byte), as HTTP headers are. */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  for (let i = start; i < end; i += 4096) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return out;
}

/**
 * Decodes header or path bytes: a plain loop for short runs (cheaper than a
 * subarray plus a decoder call), TextDecoder for longer ASCII, Latin-1 when
 * a byte is above 0x7f (HTTP's obs-text).
 */
function bytesToText(bytes: Uint8Array, start: number, end: number, utf: boolean): string {
  if (end - start <= 16) {
    let out = "";
    for (let i = start; i < end; i++) {
      if (bytes[i] > 0x7f) {
        return utf ? utf8.decode(bytes.subarray(start, end)) : latin1(bytes, start, end);
      }
      out += String.fromCharCode(bytes[i]);
    }
    return out;
  }
  if (utf) return utf8.decode(bytes.subarray(start, end));
  for (let i = start; i < end; i++) {
    if (bytes[i] > 0x7f) return latin1(bytes, start, end);
  }
  return utf8.decode(bytes.subarray(start, end));
}

/** Why a slot's request can no longer be read. */
export type Released = "over" | "closed";

const RELEASED_MESSAGES: Record<Released, string> = {
  over: "This request is over (answered, timed out, the client left, or the server shut " +
    "down); its data is gone. " +
    "Read what you need before the handler returns (or awaits something slow).",
  closed: "This server has shut down; the request's data is gone with it. " +
    "Read what you need before the handler awaits something slow.",
};

/**
 * Reads a request record in the slot arena (or its overflow copy).
 *
 * Rust never writes a slot JavaScript holds (docs/crossing.md, "Who owns a
 * slot"), so reads need no re-check against Rust: the one guard is
 * `#released`, set in JavaScript (which is single-threaded) before the slot
 * is handed back or the server's arena is freed.
 */
export class SlotSource implements RequestSource {
  /** The slot's generation when it was drained. */
  readonly generation: number;
  /** The slot id. */
  readonly slot: number;
  #openBody?: BodyOpener;
  #bodyStream?: ReadableStream<Uint8Array> | null;
  #bytes: Uint8Array;
  #base: number;
  #words: Uint32Array;
  #word: number;
  #released: Released | undefined;
  #abort?: AbortController;

  /**
   * @param arena8 The whole arena as bytes.
   * @param arena32 The whole arena as u32 words.
   * @param offset Byte offset of the slot's request record.
   * @param slot The slot id.
   * @param generation The generation the drain entry carried.
   * @param overflow Copies an overflowed record out of Rust.
   */
  constructor(
    arena8: Uint8Array,
    arena32: Uint32Array,
    offset: number,
    slot: number,
    generation: number,
    overflow: { readOverflow(slot: number, generation: number, total: number): Uint8Array },
    openBody?: BodyOpener,
  ) {
    this.slot = slot;
    this.#openBody = openBody;
    this.#words = arena32;
    this.#word = offset >>> 2;
    this.generation = generation;
    if (arena32[this.#word + Req.FLAGS] & Req.FLAG_OVERFLOW) {
      this.#bytes = overflow.readOverflow(slot, generation, arena32[this.#word + Req.TOTAL]);
      this.#base = 0;
    } else {
      this.#bytes = arena8;
      this.#base = offset + Req.HEADER_BYTES;
    }
  }

  #w(i: number): number {
    if (this.#released !== undefined) throw new Error(RELEASED_MESSAGES[this.#released]);
    return this.#words[this.#word + i];
  }

  /** Whether the slot was handed back. */
  get released(): boolean {
    return this.#released !== undefined;
  }

  /**
   * Marks the slot handed back (answered, over, or the server closed):
   * later reads throw instead of reading bytes that may be another's.
   */
  release(why: Released = "over", abort = false): void {
    this.#released ??= why;
    if (abort) this.#abort?.abort(new Error(RELEASED_MESSAGES[why]));
  }

  signal(): AbortSignal {
    // Made on first use: most handlers never ask.
    return (this.#abort ??= new AbortController()).signal;
  }

  method(): string {
    const code = this.#w(Req.METHOD);
    if (code < METHODS.length) return METHODS[code];
    return latin1(this.#bytes, this.#base, this.#base + this.#w(Req.METHOD_LEN));
  }

  /** Byte offset where block `field` starts (blocks follow in word order). */
  #start(field: number): number {
    let at = this.#base + this.#w(Req.METHOD_LEN);
    const words = this.#words;
    const w = this.#word;
    for (let f: number = Req.PATH_LEN; f < field; f++) at += words[w + f];
    return at;
  }

  #text(field: number, utf: boolean): string {
    const start = this.#start(field);
    return bytesToText(this.#bytes, start, start + this.#words[this.#word + field], utf);
  }

  path(): string {
    return this.#text(Req.PATH_LEN, false);
  }

  query(): string {
    return this.#text(Req.QUERY_LEN, false);
  }

  paramValues(): string[] {
    const start = this.#start(Req.PARAMS_LEN);
    const end = start + this.#words[this.#word + Req.PARAMS_LEN];
    const bytes = this.#bytes;
    const values: string[] = [];
    let at = start;
    while (at + 4 <= end) {
      const len = bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 | bytes[at + 3] << 24;
      at += 4;
      values.push(bytesToText(bytes, at, at + len, true));
      at += len;
    }
    return values;
  }

  headerText(): string {
    return this.#text(Req.HEADERS_LEN, false);
  }

  remote(): string {
    return this.#text(Req.REMOTE_LEN, false);
  }

  bodyStream(): ReadableStream<Uint8Array> | null {
    if (this.#bodyStream !== undefined) return this.#bodyStream;
    const streamed = (this.#w(Req.FLAGS) & Req.FLAG_BODY_STREAM) !== 0;
    return this.#bodyStream = streamed && this.#openBody ? this.#openBody(this) : null;
  }

  body(): Uint8Array {
    const start = this.#start(Req.BODY_LEN);
    return this.#bytes.subarray(start, start + this.#words[this.#word + Req.BODY_LEN]);
  }
}

/** A Web `Request` whose body was read up front (for `app.fetch`). */
export class WebSource implements RequestSource {
  #request: Request;
  #url: URL;
  #body: Uint8Array;
  #params: string[];
  #remote: string;

  constructor(
    request: Request,
    url: URL,
    body: Uint8Array,
    params: string[],
    remote = "",
  ) {
    this.#request = request;
    this.#url = url;
    this.#body = body;
    this.#params = params;
    this.#remote = remote;
  }

  method(): string {
    return this.#request.method;
  }
  path(): string {
    return this.#url.pathname;
  }
  query(): string {
    return this.#url.search.slice(1);
  }
  paramValues(): string[] {
    return this.#params;
  }
  headerText(): string {
    let text = "";
    for (const [name, value] of this.#request.headers) {
      text += `${name}:${value}\n`;
    }
    return text;
  }
  body(): Uint8Array {
    return this.#body;
  }
  remote(): string {
    return this.#remote;
  }
  signal(): AbortSignal {
    return this.#request.signal;
  }
  bodyStream(): ReadableStream<Uint8Array> | null {
    return null;
  }
}
