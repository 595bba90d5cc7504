/**
 * Streamed responses: `c.stream()` for any body written piece by piece and
 * `c.sse()` for Server-Sent Events. A handler may also return a Web
 * `Response` whose body is a `ReadableStream`. The head goes out at once;
 * chunks follow as they are written, many streams per FFI crossing; writes
 * wait while the client is behind (backpressure), and a client that leaves
 * cancels the stream.
 *
 * @module
 */

import { CallbackSource, type ChunkSink } from "./_stream.ts";
import { sleepFor } from "./_sleep.ts";

/**
 * What `c.stream()` hands its callback.
 *
 * @example
 * ```ts
 * import { App } from "@ferry/ferry";
 * const app = new App();
 * app.get("/log", (c) =>
 *   c.stream(async (w) => {
 *     await w.write("line 1\n");
 *     await w.write(new TextEncoder().encode("line 2\n"));
 *   }));
 * const res = await app.fetch(new Request("http://localhost/log"));
 * console.assert(await res.text() === "line 1\nline 2\n");
 * ```
 */
export interface StreamWriter {
  /**
   * Sends bytes or UTF-8 text. Resolves at once while the client keeps up,
   * and waits while it is behind (up to 64 KiB on the way). After the
   * client left it resolves and sends nothing: check `closed`.
   */
  write(chunk: Uint8Array | string): Promise<void>;
  /** True once the client went away (or the stream ended). */
  readonly closed: boolean;
  /** Aborted when the client goes away: pass it to `fetch()` and timers. */
  readonly signal: AbortSignal;
  /** Waits `ms` milliseconds, or less if the client goes away. */
  sleep(ms: number): Promise<void>;
}

/** One Server-Sent Event. */
export interface SSEMessage {
  /** The data: a string (split into `data:` lines) or any JSON value. */
  data: unknown;
  /** The event type (`event:`). */
  event?: string;
  /** The event id (`id:`), echoed by the browser as `Last-Event-ID` on reconnect. */
  id?: string;
  /** Reconnection delay the client should use, in ms (`retry:`). */
  retry?: number;
}

/**
 * What `c.sse()` hands its callback.
 *
 * @example
 * ```ts
 * import { App } from "@ferry/ferry";
 * const app = new App();
 * app.get("/events", (c) =>
 *   c.sse(async (s) => {
 *     for (let i = 0; i < 3 && !s.closed; i++) {
 *       await s.send({ event: "tick", id: String(i), data: { i } });
 *     }
 *   }));
 * const res = await app.fetch(new Request("http://localhost/events"));
 * console.assert(res.headers.get("content-type") === "text/event-stream");
 * ```
 */
export interface SSEWriter extends StreamWriter {
  /** Sends one event; waits while the client is behind. */
  send(message: SSEMessage | string): Promise<void>;
  /** Sends a comment line (`: text`), ignored by clients. */
  comment(text: string): Promise<void>;
  /** The `Last-Event-ID` the client reconnected with, if any. */
  readonly lastEventId: string | undefined;
}

/** Options of `c.sse()`. */
export interface SSEOptions {
  /**
   * A keep-alive comment is sent when this long passed without an event
   * (checked once per period), so proxies do not close an idle stream; 0
   * turns it off.
   * @default {15000}
   */
  keepAliveMs?: number;
}

/** Refuses text that would end an SSE field early. */
/** A CR or LF (one RegExp for every call: a literal is a new object each time). */
const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /\r\n|\r|\n/;

function field(name: string, value: string): string {
  if (LINE_BREAK.test(value)) {
    throw new TypeError(`SSE ${name} must not contain CR or LF, got ${JSON.stringify(value)}`);
  }
  return `${name}: ${value}\n`;
}

/** Formats one event: fields, then `data:` lines, then a blank line. */
export function formatEvent(message: SSEMessage | string): string {
  const m = typeof message === "string" ? { data: message } : message;
  let out = "";
  if (m.event !== undefined) out += field("event", m.event);
  if (m.id !== undefined) out += field("id", m.id);
  if (m.retry !== undefined) {
    if (!Number.isInteger(m.retry) || m.retry < 0) {
      throw new RangeError(`SSE retry must be a whole number of ms, got ${m.retry}`);
    }
    out += `retry: ${m.retry}\n`;
  }
  const data = typeof m.data === "string" ? m.data : JSON.stringify(m.data) ?? "";
  // Most events are one line: no array for them.
  if (!LINE_BREAK.test(data)) return `${out}data: ${data}\n\n`;
  for (const line of data.split(LINE_BREAKS)) out += `data: ${line}\n`;
  return out + "\n";
}

/**
 * `sleep()` for a sink: cut short when the client leaves. The pending
 * sleeps of a sink wait in one set that its abort empties; each waits in a
 * shared queue per duration, not a timer of its own (`lib/_sleep.ts`).
 */
function sleeper(sink: ChunkSink): (ms: number) => Promise<void> {
  const pending = new Set<() => void>();
  sink.signal.addEventListener("abort", () => {
    for (const wake of pending) wake();
    pending.clear();
  }, { once: true });
  return (ms) =>
    new Promise<void>((resolve) => {
      if (sink.closed) return resolve();
      if (Number.isInteger(ms) && ms >= 1 && ms <= 0x7fff_ffff) {
        return sleepFor(ms, resolve, pending);
      }
      // Odd durations (0, fractions, NaN, huge) keep setTimeout's meaning.
      const timer = setTimeout(() => {
        pending.delete(wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      pending.add(wake);
    });
}

/** The source behind `c.stream()`. */
export function streamSource(run: (w: StreamWriter) => Promise<void> | void): CallbackSource {
  return new CallbackSource((sink) =>
    run({
      write: (chunk) => sink.write(chunk),
      get closed() {
        return sink.closed;
      },
      signal: sink.signal,
      sleep: sleeper(sink),
    })
  );
}

/** The source behind `c.sse()`. */
export function sseSource(
  run: (s: SSEWriter) => Promise<void> | void,
  lastEventId: string | undefined,
  options: SSEOptions = {},
): CallbackSource {
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  if (!Number.isFinite(keepAliveMs) || keepAliveMs < 0) {
    throw new RangeError(`keepAliveMs must be 0 or more, got ${keepAliveMs}`);
  }
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => clearInterval(timer);
  return new CallbackSource(async (sink) => {
    // One interval per stream, not a timer reset per event: a comment goes
    // out when a whole period passed without a write.
    let wrote = false;
    if (keepAliveMs > 0) {
      timer = setInterval(() => {
        if (sink.closed) return stop();
        if (!wrote) sink.write(": keep-alive\n\n");
        wrote = false;
      }, keepAliveMs);
    }
    const write = (text: string | Uint8Array) => {
      wrote = true;
      return sink.write(text);
    };
    try {
      await run({
        write,
        send: (message) => write(formatEvent(message)),
        comment: (text) => write(`: ${text.replace(/[\r\n]+/g, " ")}\n\n`),
        get closed() {
          return sink.closed;
        },
        signal: sink.signal,
        sleep: sleeper(sink),
        lastEventId,
      });
    } finally {
      stop();
    }
  }, stop);
}
