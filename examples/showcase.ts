// Ferry's showcase app: `deno task serve` builds the native core when
// needed and runs this on PORT (default 8000). Try:
//   curl localhost:8000/
//   curl localhost:8000/users/42?q=hi
//   curl -X POST localhost:8000/echo -d '{"hello":"ferry"}'
//   curl localhost:8000/health          (const route: answered by Rust alone)
//   curl localhost:8000/stats           (crossings, batch sizes, hops)
//   websocat ws://localhost:8000/ws     (an echo; everyone hears "/ws" joins)
// Ctrl+C shuts down gracefully: in-flight requests finish first.

import { App, compress, cors, HttpError, rateLimit, requestId, securityHeaders } from "../mod.ts";

const app = new App();

// Native middleware: run in Rust around the TypeScript part, zero crossings.
app.use(requestId());
app.use(securityHeaders());
app.use(cors({ origin: "*" }));
app.use(compress());
app.use(rateLimit({ capacity: 1000, refillPerSecond: 500 }));

// Sync middleware run inside the same drain as the request: no extra crossing.
app.before((c) => {
  c.set("started", performance.now());
});
app.after((c, res) => {
  res.headers.set("x-served-by", "ferry");
  res.headers.set("x-time-ms", (performance.now() - c.get<number>("started")!).toFixed(3));
});

app.get("/", () => "Hello, World!");
app.get("/health", () => ({ ok: true }), { const: true });
app.get("/users/:id", (c) => ({ id: c.params.id, q: c.query.get("q") }));
app.post("/echo", async (c) => c.json(await c.req.json(), 201));
app.get("/files/*path", (c) => c.text(`you asked for ${c.params.path}`));
app.get("/slow", async () => {
  await new Promise((resolve) => setTimeout(resolve, 100));
  return "slept 100 ms";
});
app.get("/teapot", () => {
  throw new HttpError(418, "I'm a teapot");
});
app.get("/stats", (c) => c.json(server.stats()));
// A WebSocket echo: framing in Rust, messages cross in batches, the topic
// fans out in Rust.
app.ws("/ws", {
  open(ws) {
    ws.subscribe("lobby");
    ws.publish("lobby", `${ws.remoteAddress} joined`);
  },
  message(ws, message) {
    ws.send(message);
  },
});
app.static("/assets", new URL("./public", import.meta.url).pathname, {
  cacheControl: "public, max-age=60",
});

const port = Number(Deno.env.get("PORT") ?? 8000);
const server = app.listen({
  port,
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  onListen: ({ hostname, port }) => console.log(`Ferry listening on http://${hostname}:${port}/`),
});

let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    if (++signals > 1) Deno.exit(130); // a second signal forces the exit
    console.log(`${signal}: finishing in-flight requests…`);
    server.shutdown().then(() => Deno.exit(0));
  });
}
