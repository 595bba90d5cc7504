/**
 * What every streaming peer sends: the same events and the same download,
 * so servers are compared on equal work.
 *
 * @module
 */

/** Milliseconds between two events of one SSE client. */
export const INTERVAL_MS = Number(Deno.env.get("INTERVAL_MS") ?? 100);
/** Bytes of one download. */
export const DOWNLOAD_BYTES = Number(Deno.env.get("DOWNLOAD_BYTES") ?? 64 * 1024 * 1024);
const CHUNK = new Uint8Array(64 * 1024).fill(120);

/** The i-th event of a stream. */
export function event(i: number): { id: string; event: string; data: string } {
  return { id: String(i), event: "tick", data: `{"i":${i},"ok":true}` };
}

/** The same event as SSE text, for peers without an SSE helper. */
export function eventText(i: number): string {
  return `event: tick\nid: ${i}\ndata: {"i":${i},"ok":true}\n\n`;
}

/** A pulled stream of `DOWNLOAD_BYTES` in 64 KiB chunks. */
export function downloadBody(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= DOWNLOAD_BYTES) return controller.close();
      const n = Math.min(CHUNK.length, DOWNLOAD_BYTES - sent);
      controller.enqueue(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      sent += n;
    },
  }, { highWaterMark: 0 });
}

/** Counts the bytes of an upload as they arrive. */
export async function countBody(body: ReadableStream<Uint8Array> | null): Promise<number> {
  let n = 0;
  if (body) { for await (const chunk of body) n += chunk.length; }
  return n;
}
