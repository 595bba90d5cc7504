// Request bodies that stream in (docs/streaming.md, "Request bodies"): a
// ReadableStream per body, fed by body events. Each read asks Rust for the
// next chunk with a `PULL` entry in the next commit; the chunk comes back
// in the slot's response area, behind a `[length, flags]` prefix.

import { BodyChunk } from "./_layout.ts";
import { HttpError } from "./http_error.ts";
import type { SlotSource } from "./_source.ts";

/** Where the chunks of a request body that streams in go. */
interface BodyFeed {
  generation: number;
  controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** Resolves the pending pull once its chunk arrived. */
  resolve: (() => void) | undefined;
}

/** The streamed request bodies of one server, by slot. */
export class BodyFeeds {
  #feeds: (BodyFeed | undefined)[];
  #pull: (slot: number, generation: number) => void;

  /** `pull` queues the `PULL` entry for a slot (and gets it committed). */
  constructor(slots: number, pull: (slot: number, generation: number) => void) {
    this.#feeds = new Array(slots).fill(undefined);
    this.#pull = pull;
  }

  /**
   * The stream of a request body that is still arriving. Nothing is read
   * ahead in JavaScript (`highWaterMark: 0`): a slow reader slows the client.
   */
  open(source: SlotSource): ReadableStream<Uint8Array> {
    const { slot, generation } = source;
    const feed: BodyFeed = { generation, controller: undefined, resolve: undefined };
    this.#feeds[slot] = feed;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        feed.controller = controller;
      },
      pull: () =>
        new Promise<void>((resolve) => {
          if (this.#feeds[slot] !== feed || source.released) return resolve();
          feed.resolve = resolve;
          this.#pull(slot, generation);
        }),
      cancel: () => {
        if (this.#feeds[slot] === feed) this.#feeds[slot] = undefined;
      },
    }, { highWaterMark: 0 });
  }

  /**
   * The next chunk of `(slot, generation)`'s body is in its response area,
   * which starts at byte `at` of the arena views.
   */
  chunk(slot: number, generation: number, u8: Uint8Array, u32: Uint32Array, at: number): void {
    const feed = this.#feeds[slot];
    if (feed === undefined || feed.generation !== generation) return;
    const length = u32[at >>> 2];
    const flags = u32[(at >>> 2) + 1];
    const controller = feed.controller!;
    const resolve = feed.resolve;
    feed.resolve = undefined;
    if (flags & BodyChunk.FAILED) {
      this.#feeds[slot] = undefined;
      controller.error(
        new HttpError(
          400,
          "The request body could not be read whole (too large, too slow, or the client left).",
        ),
      );
    } else {
      if (length > 0) {
        const start = at + BodyChunk.PREFIX;
        controller.enqueue(u8.slice(start, start + length));
      }
      if (flags & BodyChunk.END) {
        this.#feeds[slot] = undefined;
        controller.close();
      }
    }
    resolve?.();
  }

  /** The slot's body stream, if one is open, fails with `why`. */
  end(slot: number, why: string): void {
    const feed = this.#feeds[slot];
    if (feed === undefined) return;
    this.#feeds[slot] = undefined;
    try {
      feed.controller?.error(new Error(`The request body is gone: ${why}.`));
    } catch { /* already closed */ }
    feed.resolve?.();
  }
}
