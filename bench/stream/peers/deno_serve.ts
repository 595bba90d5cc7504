/**
 * Streaming benchmark peer: Deno.serve with a ReadableStream per SSE
 * client (the usual way to stream on Deno) and the same download.
 *
 * @module
 */
import { countBody, downloadBody, eventText, INTERVAL_MS } from "./shared.ts";

const encoder = new TextEncoder();

function sse(signal: AbortSignal): Response {
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const tick = () => {
        if (signal.aborted) return;
        controller.enqueue(encoder.encode(eventText(i++)));
        timer = setTimeout(tick, INTERVAL_MS);
      };
      tick();
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), onListen() {} }, async (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/upload") return Response.json({ bytes: await countBody(req.body) });
  if (path === "/sse") return sse(req.signal);
  if (path === "/download") {
    return new Response(downloadBody(), {
      headers: { "content-type": "application/octet-stream" },
    });
  }
  return new Response("not found", { status: 404 });
});
