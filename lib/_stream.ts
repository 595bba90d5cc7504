// The producer side of a streamed response: what writes chunks (a
// ReadableStream, c.stream(), c.sse()) and where they go (a slot on the
// network path, a ReadableStream controller for app.fetch). Chunks wait in
// JavaScript until the server's next commit carries them to Rust, many
// streams per crossing (lib/server.ts `#flushStreams`).

const encoder = new TextEncoder();

/**
 * Where a producer writes. `write()` resolves at once while the stream has
 * credit, and waits (backpressure) once `highWaterMark` bytes are on their
 * way to a client that has not taken them; it resolves without writing once
 * the stream is closed (client gone), which `closed` tells.
 */
export interface ChunkSink {
  /** Queues bytes or UTF-8 text; waits while the client is behind. */
  write(chunk: Uint8Array | string): Promise<void>;
  /** True once the client went away or the stream ended. */
  readonly closed: boolean;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** Something that produces a body into a sink, then returns (or throws). */
export interface StreamSource {
  /** Writes the whole body into `sink`; a throw fails the transfer. */
  run(sink: ChunkSink): Promise<void>;
  /** The client went away (or the head could not be sent): stop producing. */
  cancel(reason: unknown): void;
}

/** Bytes of a chunk written as text or bytes. */
export function chunkBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? encoder.encode(chunk) : chunk;
}

/** A Web `ReadableStream` as a source: pulled only while the sink has credit. */
export class ReadableSource implements StreamSource {
  #stream: ReadableStream<Uint8Array>;
  #reader?: ReadableStreamDefaultReader<Uint8Array>;
  #cancelled = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#stream = stream;
  }

  async run(sink: ChunkSink): Promise<void> {
    if (this.#cancelled) return;
    const reader = this.#reader = this.#stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done || sink.closed) return;
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(
          `A response stream yielded ${typeof value}; streams must yield Uint8Array chunks`,
        );
      }
      // Waits while the client is behind: the stream is not pulled again
      // until the bytes already sent were taken.
      await sink.write(value);
    }
  }

  cancel(reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    (this.#reader ?? this.#stream).cancel(reason).catch(() => {});
  }
}

/** A callback (c.stream(), c.sse()) as a source. */
export class CallbackSource implements StreamSource {
  #run: (sink: ChunkSink) => Promise<void> | void;
  #onCancel?: () => void;

  constructor(run: (sink: ChunkSink) => Promise<void> | void, onCancel?: () => void) {
    this.#run = run;
    this.#onCancel = onCancel;
  }

  async run(sink: ChunkSink): Promise<void> {
    await this.#run(sink);
  }

  cancel(): void {
    this.#onCancel?.();
  }
}

/**
 * Runs `source` into a Web `ReadableStream` (for `app.fetch`): writes wait
 * while the stream's queue is full, and cancelling it cancels the source.
 */
export function toReadable(
  source: StreamSource,
  highWaterMark: number,
): ReadableStream<Uint8Array> {
  const abort = new AbortController();
  let wake: (() => void) | undefined;
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const sink: ChunkSink = {
        get closed() {
          return closed;
        },
        signal: abort.signal,
        async write(chunk) {
          if (closed) return;
          const bytes = chunkBytes(chunk);
          if (bytes.length > 0) controller.enqueue(bytes);
          while (!closed && (controller.desiredSize ?? 1) <= 0) {
            await new Promise<void>((resolve) => wake = resolve);
          }
        },
      };
      source.run(sink).then(
        () => {
          if (!closed) {
            closed = true;
            controller.close();
          }
        },
        (error) => {
          if (!closed) {
            closed = true;
            console.error("ferry: a response stream failed:", error);
            controller.error(error);
          }
        },
      );
    },
    pull() {
      wake?.();
      wake = undefined;
    },
    cancel(reason) {
      closed = true;
      abort.abort(reason);
      source.cancel(reason);
      wake?.();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark }));
}
