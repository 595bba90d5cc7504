// Streaming with Ferry: Server-Sent Events, a streamed download and a
// written-as-you-go log. Run: deno run -A examples/streaming.ts, then
//   curl -N localhost:8001/events        (an event a second; Ctrl+C cancels it)
//   curl -o /dev/null localhost:8001/download
//   curl -N localhost:8001/log
// Open http://localhost:8001/ in a browser to watch the events arrive.

import { App } from "../mod.ts";

const app = new App();

app.get("/", (c) =>
  c.html(`<!doctype html><title>Ferry SSE</title><pre id="log"></pre>
<script>
  const log = document.getElementById("log");
  new EventSource("/events").addEventListener("tick", (e) => {
    log.textContent += e.lastEventId + ": " + e.data + "\\n";
  });
</script>`));

// One event a second until the client leaves (s.closed), resuming after the
// last id the browser saw (EventSource sends it as Last-Event-ID).
app.get("/events", (c) =>
  c.sse(async (s) => {
    const from = Number(s.lastEventId ?? -1) + 1;
    for (let i = from; !s.closed; i++) {
      await s.send({ event: "tick", id: String(i), data: { i, at: new Date().toISOString() } });
      await s.sleep(1000);
    }
  }));

// 16 MiB made as it is sent: pulled only as fast as the client reads.
app.get("/download", () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x66);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 16 * 1024 * 1024) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.length;
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "application/octet-stream",
      "content-disposition": 'attachment; filename="ferry.bin"',
    },
  });
});

// Written as it goes; w.write() waits while the client is behind.
app.get("/log", (c) =>
  c.stream(async (w) => {
    for (let i = 1; i <= 5 && !w.closed; i++) {
      await w.write(`step ${i} of 5\n`);
      await w.sleep(300);
    }
  }, "text/plain; charset=utf-8"));

const server = app.listen({ port: Number(Deno.env.get("PORT") ?? 8001), hostname: "127.0.0.1" });
console.log(`streaming example on http://127.0.0.1:${server.addr.port}/`);
Deno.addSignalListener("SIGINT", () => server.shutdown());
