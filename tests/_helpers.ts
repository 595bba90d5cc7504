// The one way end-to-end tests start a server: a real Ferry server on
// 127.0.0.1 with a free port, shut down when the test is done.

import type { App, ListenOptions, Server } from "../mod.ts";

/** A running test server and its base URL. */
export interface TestServer extends AsyncDisposable {
  app: App;
  server: Server;
  /** `http://127.0.0.1:PORT` */
  base: string;
}

/** Starts `app` on 127.0.0.1:0; use with `await using`. */
export function serve(app: App, options: ListenOptions = {}): TestServer {
  const server = app.listen({ hostname: "127.0.0.1", port: 0, ...options });
  return {
    app,
    server,
    base: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown({ deadlineMs: 2000 }),
  };
}

/** Sends raw bytes over TCP and returns everything read until close or `ms`. */
export async function rawExchange(
  port: number,
  request: string | Uint8Array,
  ms = 2000,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
  await conn.write(bytes);
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => conn.close(), ms);
  try {
    const buf = new Uint8Array(65536);
    for (let i = 0; i < 10_000; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } catch {
    // closed by the timer
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  return new TextDecoder().decode(
    chunks.reduce((a, b) => {
      const out = new Uint8Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return out;
    }, new Uint8Array()),
  );
}

/** A promise and the function that resolves it (a latch between client and handler). */
export function latch(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => open = resolve);
  return { wait, open };
}

/** Polls `check` every 10 ms, at most `tries` times; the last result. */
export async function until(check: () => boolean, tries = 300): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}
