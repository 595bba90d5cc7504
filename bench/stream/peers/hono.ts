/**
 * Streaming benchmark peer: Hono's `streamSSE` on Deno.serve, and the same
 * download.
 *
 * @module
 */
// deno-lint-ignore-file no-import-prefix
import { Hono } from "npm:hono@4";
import { streamSSE } from "npm:hono@4/streaming";
import { countBody, downloadBody, INTERVAL_MS } from "./shared.ts";

const app = new Hono();
app.get("/sse", (c) =>
  streamSSE(c, async (stream) => {
    let closed = false;
    stream.onAbort(() => {
      closed = true;
    });
    for (let i = 0; !closed; i++) {
      await stream.writeSSE({ event: "tick", id: String(i), data: `{"i":${i},"ok":true}` });
      await stream.sleep(INTERVAL_MS);
    }
  }));
app.get(
  "/download",
  () => new Response(downloadBody(), { headers: { "content-type": "application/octet-stream" } }),
);
app.put("/upload", async (c) => c.json({ bytes: await countBody(c.req.raw.body) }));
Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), onListen() {} }, app.fetch);
