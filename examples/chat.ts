// A chat with rooms over WebSockets. Run: deno run -A examples/chat.ts, then
// open http://localhost:8002/ in two browser tabs.
//
// - `upgrade` refuses a visitor without a name (an ordinary 401), and its
//   value becomes `ws.data`;
// - each room is a topic: `ws.publish` reaches everyone else in it, fanned
//   out in Rust, and the server itself announces the time every minute;
// - a before-middleware limits names and rooms to safe characters for
//   both the page and the socket.

import { App, type Server } from "../mod.ts";

/** Who a socket belongs to. */
interface Member {
  name: string;
}

const SAFE = /^[\w-]{1,32}$/;

export const app: App = new App();

app.get("/", (c) => c.html(PAGE));

// Applies to the upgrade request like to any other request.
app.before((c) => {
  const room = c.req.path.startsWith("/rooms/") ? c.req.path.slice(7) : undefined;
  if (room !== undefined && !SAFE.test(room)) return c.text("bad room name", 400);
});

app.ws<Member, "/rooms/:room">("/rooms/:room", {
  upgrade(c) {
    const name = c.query.get("name") ?? "";
    if (!SAFE.test(name)) return c.text("pick a name: letters, digits, - or _", 401);
    return { name };
  },
  open(ws) {
    ws.subscribe(ws.params.room);
    ws.publish(ws.params.room, `* ${ws.data.name} joined`);
    ws.send(`* welcome to ${ws.params.room}, ${ws.data.name}`);
  },
  message(ws, message) {
    if (typeof message !== "string") return; // text only
    const line = `${ws.data.name}: ${message.slice(0, 500)}`;
    ws.send(line);
    ws.publish(ws.params.room, line);
  },
  close(ws) {
    // The socket left its topics already; tell the room.
    server?.publish(ws.params.room, `* ${ws.data.name} left`);
  },
}, { maxPayloadBytes: 4096, idleTimeoutMs: 60_000 });

let server: Server | undefined;

if (import.meta.main) {
  server = app.listen({ port: Number(Deno.env.get("PORT") ?? 8002) });
  const clock = setInterval(() => {
    for (const room of ["lobby"]) server?.publish(room, `* it is ${new Date().toISOString()}`);
  }, 60_000);
  server.finished.then(() => clearInterval(clock));
  console.log(`chat on http://localhost:${server.addr.port}/`);
}

/** Lets a test (or another module) own the server `close` announces through. */
export function attach(running: Server): void {
  server = running;
}

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>Ferry chat</title>
<form id="join">name <input id="name" value="guest"> room <input id="room" value="lobby">
<button>join</button></form>
<pre id="log"></pre>
<form id="say" hidden><input id="text" autocomplete="off" size="60"><button>send</button></form>
<script>
  const $ = (id) => document.getElementById(id);
  let socket;
  $("join").onsubmit = (e) => {
    e.preventDefault();
    const url = new URL("/rooms/" + $("room").value, location.href);
    url.protocol = url.protocol.replace("http", "ws");
    url.searchParams.set("name", $("name").value);
    socket = new WebSocket(url);
    socket.onmessage = (m) => { $("log").textContent += m.data + "\\n"; };
    socket.onclose = (c) => { $("log").textContent += "* closed " + c.code + "\\n"; };
    $("join").hidden = true;
    $("say").hidden = false;
  };
  $("say").onsubmit = (e) => {
    e.preventDefault();
    socket.send($("text").value);
    $("text").value = "";
  };
</script>`;
