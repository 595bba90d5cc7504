// One streamed response on the network path: the sink its producer writes
// into, and the state the server's commit turns into entries (head, chunk,
// wait, end). Chunks are kept in JavaScript until the next commit, so a
// stream costs no FFI call per chunk, and many streams share a crossing.
//
// Credit: `unacked` counts bytes sent to Rust since its last writable
// event. Past the high-water mark the producer's writes wait; the next
// entry carries `Op.WAIT`, and Rust raises the writable event once hyper
// has taken every byte, which resets the credit (ffi/src/stream/mod.rs).
//
// Once the head is out, text is encoded straight into the slot's response
// area (`area`), where the next commit's `Op.CHUNK` entry finds it: an SSE
// event costs no `Uint8Array` and no copy in JavaScript. The area is ours
// between commits: Rust reads it only in the commit, and a streamed request
// body lands there only in a drain, which always follows the commit that
// took these bytes (lib/server.ts flushes streams before every pump).

import { chunkBytes, type ChunkSink, type StreamSource } from "./_stream.ts";
import type { Reply } from "./reply.ts";
import type { SlotSource } from "./_source.ts";

/** Called when a stream has something for the next commit. */
export type Dirty = (stream: SlotStream) => void;

const encoder = new TextEncoder();
/** What a write returns while the stream has credit (no promise each). */
const RESOLVED = Promise.resolve();

export class SlotStream implements ChunkSink {
  readonly slot: number;
  readonly generation: number;
  /** The answer's status and headers (its body is the stream). */
  readonly head: Reply;
  readonly source: SlotSource;
  readonly producer: StreamSource;
  /** Chunks not yet committed, when not in `area` (see `areaBytes`). */
  chunks: Uint8Array[] = [];
  /** Bytes not yet committed: `areaBytes` plus those in `chunks`. */
  pendingBytes = 0;
  /** Bytes at the start of `area` not yet committed (`chunks` is empty then). */
  areaBytes = 0;
  #area: Uint8Array;
  /** Bytes committed since Rust last said every byte was taken. */
  unacked = 0;
  headSent = false;
  /** The producer finished (`failed`: it threw). */
  ended = false;
  failed = false;
  /** The producer waits for credit; `waitSent`: Rust was asked to tell. */
  blocked = false;
  waitSent = false;
  /** Queued for the next commit. */
  queued = false;
  /**
   * Credit came back and the producer has not used it up: its next chunk
   * is awaited (a ReadableStream's pull loop writes every few microtasks),
   * so the loop waits a few turns for it before parking, and a parked loop
   * commits it at once, not after a macrotask turn (a timer turn costs
   * ~1 ms, a stall per chunk). Cleared when the stream blocks.
   */
  refilling = false;
  #closed = false;
  #waiters: (() => void)[] = [];
  #highWaterMark: number;
  #dirty: Dirty;
  #abort = new AbortController();

  constructor(
    slot: number,
    generation: number,
    head: Reply,
    source: SlotSource,
    producer: StreamSource,
    highWaterMark: number,
    dirty: Dirty,
    area: Uint8Array,
  ) {
    this.#area = area;
    this.slot = slot;
    this.generation = generation;
    this.head = head;
    this.source = source;
    this.producer = producer;
    this.#highWaterMark = highWaterMark;
    this.#dirty = dirty;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Starts the producer; its end or failure is committed like a chunk. */
  start(): void {
    this.producer.run(this).then(
      () => this.#finish(false),
      (error) => {
        if (!this.#closed) console.error("ferry: a response stream failed:", error);
        this.#finish(true);
      },
    );
  }

  write(chunk: Uint8Array | string): Promise<void> {
    if (this.#closed || this.ended) return RESOLVED;
    if (chunk.length > 0) {
      if (typeof chunk !== "string" || !this.#encodeInArea(chunk)) {
        this.#spillArea();
        const bytes = chunkBytes(chunk);
        this.chunks.push(bytes);
        this.pendingBytes += bytes.length;
      }
      this.#dirty(this);
    }
    if (this.unacked + this.pendingBytes < this.#highWaterMark) return RESOLVED;
    this.blocked = true;
    this.refilling = false;
    this.#dirty(this);
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Encodes `text` after the area's pending bytes; false if it does not fit. */
  #encodeInArea(text: string): boolean {
    // Before the head the area is the response record's, and bytes
    // already queued as chunks must go first.
    if (!this.headSent || this.chunks.length > 0) return false;
    const at = this.areaBytes;
    // UTF-8 takes at least one byte per UTF-16 unit.
    if (text.length > this.#area.length - at) return false;
    const { read, written } = encoder.encodeInto(
      text,
      at === 0 ? this.#area : this.#area.subarray(at),
    );
    if (read < text.length) return false;
    this.areaBytes = at + written;
    this.pendingBytes += written;
    return true;
  }

  /** Moves the area's pending bytes to `chunks` (a chunk that does not fit follows). */
  #spillArea(): void {
    if (this.areaBytes === 0) return;
    this.chunks.push(this.#area.slice(0, this.areaBytes));
    this.areaBytes = 0;
  }

  /** Takes the pending bytes in the area: the next `Op.CHUNK` entry's length. */
  takeArea(): number {
    const n = this.areaBytes;
    this.areaBytes = 0;
    this.pendingBytes = 0;
    this.unacked += n;
    return n;
  }

  /** Takes the pending chunks as one buffer (`areaBytes` is 0). */
  takeBytes(): Uint8Array {
    this.#spillArea();
    const { chunks, pendingBytes } = this;
    this.chunks = [];
    this.pendingBytes = 0;
    this.unacked += pendingBytes;
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(pendingBytes);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** Rust handed every committed byte to hyper: the credit starts again. */
  writable(): void {
    this.unacked = 0;
    this.waitSent = false;
    this.refilling = true;
    if (this.pendingBytes < this.#highWaterMark) this.#release();
  }

  /** The client went away: stop the producer; writes resolve and do nothing. */
  cancel(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new Error(reason));
    this.producer.cancel(new Error(reason));
    this.#release();
  }

  #finish(failed: boolean): void {
    if (this.ended || this.#closed) return;
    this.ended = true;
    this.failed = failed;
    this.#release();
    this.#dirty(this);
  }

  #release(): void {
    this.blocked = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
