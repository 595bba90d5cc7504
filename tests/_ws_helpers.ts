// Helpers of the WebSocket tests (websocket_*_test.ts).

import { App } from "../mod.ts";
import type { RawSocket } from "./_ws_client.ts";

export const ENGINES = ["pump", "thread"] as const;
export const encoder = new TextEncoder();
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a failure naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deno's own WebSocket with its messages queued for `next()`. */
export class Client {
  readonly ws: WebSocket;
  readonly closed: Promise<CloseEvent>;
  #queue: (string | Uint8Array)[] = [];
  #waiting: ((message: string | Uint8Array) => void)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (event) => {
      const data = typeof event.data === "string" ? event.data : new Uint8Array(event.data);
      const waiter = this.#waiting.shift();
      if (waiter) waiter(data);
      else this.#queue.push(data);
    };
    this.closed = new Promise((resolve) => this.ws.onclose = resolve);
  }

  /** Opens a client on `url`; throws if the handshake fails. */
  static async open(url: string): Promise<Client> {
    const client = new Client(url);
    const opened = new Promise<void>((resolve, reject) => {
      client.ws.onopen = () => resolve();
      client.ws.onerror = (event) =>
        reject(new Error(`handshake failed: ${(event as ErrorEvent).message}`));
    });
    await within(opened, `the handshake of ${url}`);
    return client;
  }

  next(): Promise<string | Uint8Array> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return within(new Promise((resolve) => this.#waiting.push(resolve)), "a message");
  }

  /** Closes and waits for the close to finish. */
  async close(code = 1000, reason = ""): Promise<CloseEvent> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    return await within(this.closed, "the close");
  }
}

export function wsUrl(base: string, path: string): string {
  return base.replace("http://", "ws://") + path;
}

export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An echo route at `/echo`, with every close recorded. */
export function echoApp(options = {}) {
  const app = new App();
  const closes: { code: number; reason: string }[] = [];
  app.ws("/echo", {
    message(ws, message) {
      ws.send(message);
    },
    close(_ws, code, reason) {
      closes.push({ code, reason });
    },
  }, options);
  return { app, closes };
}

/** The raw client's next frame that is not a message (a close, a ping, the end). */
export async function nextControl(socket: RawSocket) {
  return await within(socket.next(), "a frame");
}

// ---------------------------------------------------------------- echo

export { concat } from "./_ws_client.ts";

export function floodApp(
  options: { backpressureLimitBytes?: number; onBackpressure?: "close" | "drop" },
  stop: (result: number, results: number[], buffered: number) => boolean,
) {
  const app = new App();
  const results: number[] = [];
  const state = { maxBuffered: 0, drains: 0, closes: [] as number[], done: false };
  app.ws("/flood", {
    async message(ws, message) {
      if (message !== "flood") {
        ws.send(message);
        return;
      }
      const chunk = new Uint8Array(64 * 1024);
      for (let i = 0; i < 5000; i++) {
        const result = ws.send(chunk);
        results.push(result);
        const buffered = ws.bufferedAmount;
        state.maxBuffered = Math.max(state.maxBuffered, buffered);
        if (stop(result, results, buffered)) break;
        await sleep(0);
      }
      state.done = true;
    },
    drain(ws) {
      state.drains++;
      if (state.done) ws.send("drained");
    },
    close(_ws, code) {
      state.closes.push(code);
    },
  }, options);
  return { app, results, state };
}

/** Reads frames until `until` matches one; counts the binary messages. */
export async function readUntil(
  socket: RawSocket,
  until: (got: Awaited<ReturnType<RawSocket["next"]>>) => boolean,
) {
  let binary = 0;
  for (let i = 0; i < 100_000; i++) {
    const got = await within(socket.next(), "a frame");
    if (got.kind === "binary") binary++;
    if (until(got) || got.kind === "end") return { binary, last: got };
  }
  throw new Error("readUntil: gave up");
}
