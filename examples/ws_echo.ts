// A WebSocket echo server: every text or binary message comes back as it was
// sent. Run: PORT=9001 deno run -A examples/ws_echo.ts; it is the server
// `deno task conformance:ws` runs the Autobahn|Testsuite against.
import { App } from "../mod.ts";

const app = new App();
app.ws("/", {
  message(ws, message) {
    ws.send(message);
  },
}, { maxPayloadBytes: 16 << 20 }); // the suite's section 9 sends messages up to 16 MiB

const server = await app.listen({
  port: Number(Deno.env.get("PORT") ?? 9001),
  hostname: "127.0.0.1",
});
console.log(`ws://127.0.0.1:${server.addr.port}/`);
