/**
 * WebSocket benchmark peer: Ferry's `app.ws()` (issue #13). `/ws/echo`
 * echoes every message; `/ws/broadcast` sockets subscribe to one topic;
 * every message of a `/ws/publish` socket goes out through
 * `server.publish`. `GET /__stats` reports `server.stats()` (FFI calls and
 * WebSocket counters). Env: `PORT`.
 *
 * @module
 */
import { App } from "../../../mod.ts";

const TOPIC = "broadcast";

const app = new App();
app.ws("/ws/echo", {
  message(ws, message) {
    ws.send(message);
  },
});
app.ws("/ws/broadcast", {
  open(ws) {
    ws.subscribe(TOPIC);
  },
});
app.ws("/ws/publish", {
  message(_ws, message) {
    server.publish(TOPIC, message);
  },
});
app.get("/__stats", (c) => c.json(server.stats()));
const server = app.listen({ port: Number(Deno.env.get("PORT") ?? 8000) });
