/**
 * Streaming benchmark peer: Ferry. `GET /sse` sends an event every
 * `INTERVAL_MS` until the client leaves; `GET /download` streams
 * `DOWNLOAD_BYTES` in 64 KiB chunks from a ReadableStream; `GET /__stats`
 * reports `server.stats()` (counters: FFI calls per chunk).
 *
 * @module
 */
import { App } from "../../../mod.ts";
import { countBody, downloadBody, event, INTERVAL_MS } from "./shared.ts";

const app = new App();
app.get("/sse", (c) =>
  c.sse(async (s) => {
    for (let i = 0; !s.closed; i++) {
      await s.send(event(i));
      await s.sleep(INTERVAL_MS);
    }
  }));
app.get(
  "/download",
  () => new Response(downloadBody(), { headers: { "content-type": "application/octet-stream" } }),
);
app.put("/upload", async (c) => ({ bytes: await countBody(c.req.body) }), {
  bodyLimit: 2 ** 40,
});
app.get("/__stats", (c) => c.json(server.stats()));
const server = app.listen({ port: Number(Deno.env.get("PORT") ?? 8000) });
