/**
 * Options for `app.listen()`. Every field is optional.
 *
 * @example
 * ```ts
 * import { App, type ListenOptions } from "@ferry/ferry";
 * const options: ListenOptions = { port: 0, hostname: "127.0.0.1", maxBodyBytes: 1 << 20 };
 * const server = new App().get("/", () => "hi").listen(options);
 * await server.shutdown();
 * ```
 */
export interface ListenOptions {
  /** TCP port; 0 picks a free one (see `server.addr.port`). @default 8000 */
  port?: number;
  /** Address to bind: `"0.0.0.0"` is every IPv4 interface; `"127.0.0.1"` keeps the server local. @default "0.0.0.0" */
  hostname?: string;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /** Called once the socket is bound. */
  onListen?: (addr: { hostname: string; port: number }) => void;
  /**
   * Check each JSON response against its route's `schema.response` (by
   * status, then `4XX`, then `default`) before it is sent; a mismatch is
   * logged with the route and the failing fields and answered 500. One FFI
   * call per checked response: meant for development and tests.
   * @default false
   */
  validateResponses?: boolean;
  /** Request slots: the most requests JavaScript holds at once; beyond it, 503 with `Retry-After`. @default 4096 */
  slots?: number;
  /** Bytes of a slot's request record; larger requests are copied once more. @default 4096 */
  requestSlotBytes?: number;
  /** Bytes of a slot's response record; larger bodies are handed over with one extra call. @default 4096 */
  responseSlotBytes?: number;
  /**
   * How Rust's I/O runtime is driven. `"pump"`: a current-thread runtime
   * driven from the JS thread, one FFI call per batch, no thread hops (the
   * fastest on one core; see docs/crossing.md). `"thread"`: a runtime with
   * its own I/O threads (`threads`), JS drains a ready queue.
   * @default "pump"
   */
  engine?: "pump" | "thread";
  /** tokio I/O threads for `engine: "thread"`. @default 1 */
  threads?: number;
  /** Largest request body; larger gets 413. @default 16777216 (16 MiB) */
  maxBodyBytes?: number;
  /** Largest request header block; larger gets 431. @default 16384 */
  maxHeaderBytes?: number;
  /** Longest request target (path and query); longer gets 414. @default 8192 */
  maxUrlBytes?: number;
  /** Time for a request's headers to arrive before the connection closes. @default 10000 */
  headerTimeoutMs?: number;
  /** Time an idle keep-alive connection stays open. @default 60000 */
  keepAliveTimeoutMs?: number;
  /** Time for a request body to arrive; slower gets 408. @default 30000 */
  bodyTimeoutMs?: number;
  /** Time a handler may take; then Rust answers 504 and reclaims the slot. 0 disables it. @default 60000 */
  handlerTimeoutMs?: number;
  /**
   * Time a connection may have response bytes waiting that the client does
   * not take (its writes make no progress) before it is dropped, freeing the
   * answer buffered for it. A client that reads slowly but steadily is kept:
   * every write the socket accepts starts the clock again. It also bounds a
   * graceful close (idle, shutdown) that makes no progress. 0 disables both.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * // Drop clients that stop reading for 5 s.
   * const server = new App().get("/", () => "hi").listen({ port: 0, sendTimeoutMs: 5000 });
   * await server.shutdown();
   * ```
   * @default 30000
   */
  sendTimeoutMs?: number;
  /**
   * How long `shutdown()` waits for in-flight requests; requests whose handler
   * has not answered by then get 503 with `Retry-After: 1`. @default 10000
   */
  shutdownDeadlineMs?: number;
  /**
   * Bytes a streamed response may have on its way to a client that has not
   * taken them yet; past it, `w.write()` / `s.send()` wait and a
   * `ReadableStream` body is not pulled. Bounds the memory of a stream to
   * a slow client. @default 65536
   */
  streamHighWaterMark?: number;
  /**
   * Most WebSockets (`app.ws`) open at once; an upgrade past it gets 503
   * with `Retry-After`. @default 65536
   */
  maxSockets?: number;
}

/** The native part of the options, as sent to Rust once. */
export interface NativeConfig {
  engine: "pump" | "thread";
  hostname: string;
  port: number;
  slots: number;
  requestSlotBytes: number;
  responseSlotBytes: number;
  threads: number;
  maxBodyBytes: number;
  maxHeaderBytes: number;
  maxUrlBytes: number;
  headerTimeoutMs: number;
  keepAliveTimeoutMs: number;
  bodyTimeoutMs: number;
  handlerTimeoutMs: number;
  sendTimeoutMs: number;
  maxSockets: number;
}

function int(
  options: ListenOptions,
  name: keyof ListenOptions,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = options[name] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `listen() option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

/** Checks options and fills in defaults. */
export function resolveListenOptions(
  options: ListenOptions,
): { native: NativeConfig; shutdownDeadlineMs: number; streamHighWaterMark: number } {
  const hostname = options.hostname ?? "0.0.0.0";
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError(`listen() option hostname must be a non-empty string`);
  }
  const slotBytes = (name: keyof ListenOptions) => {
    const value = int(options, name, 4096, 256, 1 << 24);
    if (value % 64 !== 0) {
      throw new RangeError(`listen() option ${name} must be a multiple of 64, got ${value}`);
    }
    return value;
  };
  const engine = options.engine ?? "pump";
  if (engine !== "pump" && engine !== "thread") {
    throw new TypeError(`listen() option engine must be "pump" or "thread", got ${String(engine)}`);
  }
  return {
    native: {
      engine,
      hostname,
      port: int(options, "port", 8000, 0, 65535),
      slots: int(options, "slots", 4096, 1, 1 << 20),
      requestSlotBytes: slotBytes("requestSlotBytes"),
      responseSlotBytes: slotBytes("responseSlotBytes"),
      threads: int(options, "threads", 1, 1, 256),
      maxBodyBytes: int(options, "maxBodyBytes", 16 * 1024 * 1024, 0, 2 ** 32 - 1),
      maxHeaderBytes: int(options, "maxHeaderBytes", 16 * 1024, 1024, 1 << 24),
      maxUrlBytes: int(options, "maxUrlBytes", 8 * 1024, 64, 1 << 24),
      headerTimeoutMs: int(options, "headerTimeoutMs", 10_000, 1, 2 ** 31),
      keepAliveTimeoutMs: int(options, "keepAliveTimeoutMs", 60_000, 1, 2 ** 31),
      bodyTimeoutMs: int(options, "bodyTimeoutMs", 30_000, 1, 2 ** 31),
      handlerTimeoutMs: int(options, "handlerTimeoutMs", 60_000, 0, 2 ** 31),
      sendTimeoutMs: int(options, "sendTimeoutMs", 30_000, 0, 2 ** 31),
      maxSockets: int(options, "maxSockets", 65_536, 1, 0xff_fffe),
    },
    shutdownDeadlineMs: int(options, "shutdownDeadlineMs", 10_000, 0, 2 ** 31),
    streamHighWaterMark: int(options, "streamHighWaterMark", 64 * 1024, 1, 2 ** 30),
  };
}
