/**
 * WebSocket benchmark peer: `Bun.serve` with its native pub/sub, run with
 * the `bun` binary of the npm package `bun`. `/ws/echo` echoes every
 * message; `/ws/broadcast` sockets subscribe to one topic; every message of
 * a `/ws/publish` socket goes out through `server.publish`. Env: `PORT`.
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any
const Bun = (globalThis as any).Bun;

const TOPIC = "broadcast";
const PATHS = new Set(["/ws/echo", "/ws/broadcast", "/ws/publish"]);

const server = Bun.serve({
  port: Number(Bun.env.PORT ?? 8000),
  hostname: "127.0.0.1",
  fetch(req: Request, server: any): Response | undefined {
    const start = req.url.indexOf("/", req.url.indexOf("://") + 3);
    const path = req.url.slice(start);
    if (!PATHS.has(path)) return new Response("Not Found", { status: 404 });
    if (server.upgrade(req, { data: { path } })) return undefined;
    return new Response("expected a WebSocket upgrade", { status: 426 });
  },
  websocket: {
    open(ws: any): void {
      if (ws.data.path === "/ws/broadcast") ws.subscribe(TOPIC);
    },
    message(ws: any, message: string | Uint8Array): void {
      if (ws.data.path === "/ws/echo") ws.send(message);
      else if (ws.data.path === "/ws/publish") server.publish(TOPIC, message);
    },
  },
});
