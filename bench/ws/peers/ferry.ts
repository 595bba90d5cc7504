/**
 * WebSocket benchmark peer: Ferry's `app.ws()` (issue #13). `/ws/echo`
 * echoes every message; `/ws/broadcast` sockets subscribe to one topic;
 * every message of a `/ws/publish` socket goes out through
 * `server.publish`. `GET /__stats` reports `server.stats()` (FFI calls and
 * WebSocket counters). Env: `PORT`.
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { App } from "../../../mod.ts";

const TOPIC = "broadcast";

// `any` until `app.ws()` is in `App`'s type; then drop it.
const app: any = new App();
app.ws("/ws/echo", {
  message(ws: any, message: string | Uint8Array) {
    ws.send(message);
  },
});
app.ws("/ws/broadcast", {
  open(ws: any) {
    ws.subscribe(TOPIC);
  },
});
app.ws("/ws/publish", {
  message(_ws: any, message: string | Uint8Array) {
    server.publish(TOPIC, message);
  },
});
app.get("/__stats", (c: any) => c.json(server.stats()));
// `await`: works whether `listen()` returns the server or a promise of it.
const server = await app.listen({ port: Number(Deno.env.get("PORT") ?? 8000) });
