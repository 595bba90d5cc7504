/**
 * WebSocket benchmark peer: Hono's `upgradeWebSocket` (`npm:hono/deno`) on
 * `Deno.serve`, Hono idioms. `/ws/echo` echoes every message;
 * `/ws/broadcast` sockets join a Set; every message of a `/ws/publish`
 * socket is sent to each socket of the Set. Env: `PORT`. (Hono 4 marks
 * `hono/deno` deprecated in favour of JSR's `@hono/deno`, which this
 * repository does not import; it is the same `Deno.upgradeWebSocket` code.)
 *
 * @module
 */
// deno-lint-ignore-file no-import-prefix
import { Hono } from "npm:hono@4";
import { upgradeWebSocket } from "npm:hono@4/deno";
import type { WSContext } from "npm:hono@4/ws";

const subscribers = new Set<WSContext>();

const app = new Hono();
app.get(
  "/ws/echo",
  upgradeWebSocket(() => ({
    onMessage(event, ws) {
      ws.send(event.data as string);
    },
  })),
);
app.get(
  "/ws/broadcast",
  upgradeWebSocket(() => ({
    onOpen(_event, ws) {
      subscribers.add(ws);
    },
    onClose(_event, ws) {
      subscribers.delete(ws);
    },
  })),
);
app.get(
  "/ws/publish",
  upgradeWebSocket(() => ({
    onMessage(event) {
      for (const ws of subscribers) {
        if (ws.readyState === 1) ws.send(event.data as string);
      }
    },
  })),
);
Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), onListen() {} }, app.fetch);
