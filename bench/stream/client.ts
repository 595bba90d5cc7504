/**
 * Load client of the streaming benchmark (wrk cannot read SSE). Run pinned
 * to its own CPU; prints one JSON line.
 *
 *   deno run -A bench/stream/client.ts sse PORT CONNECTIONS SECONDS
 *     opens CONNECTIONS raw HTTP/1.1 connections to /sse, counts the events
 *     received (each ends with a blank line) during SECONDS after all are open;
 *     prints "window start" and "window end" around that window
 *   deno run -A bench/stream/client.ts download PORT COUNT
 *     downloads /download COUNT times in a row, counts bytes
 *   deno run -A bench/stream/client.ts upload PORT COUNT MIB
 *     uploads MIB MiB to /upload COUNT times in a row (chunked, 256 KiB chunks)
 *
 * @module
 */

const [mode, portText, a, b] = Deno.args;
const port = Number(portText);

/** Counts "\n\n" in a byte stream, across chunk boundaries. */
function eventCounter(): (bytes: Uint8Array) => number {
  let last = 0;
  return (bytes) => {
    let n = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 10 && last === 10) n++;
      last = bytes[i];
    }
    return n;
  };
}

async function sse(connections: number, seconds: number): Promise<void> {
  let counting = false;
  let events = 0;
  let bytes = 0;
  const conns: Deno.TcpConn[] = [];
  const readers: Promise<void>[] = [];
  const request = new TextEncoder().encode("GET /sse HTTP/1.1\r\nhost: bench\r\n\r\n");
  for (let i = 0; i < connections; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(conn);
    await conn.write(request);
    const count = eventCounter();
    readers.push((async () => {
      const buf = new Uint8Array(16 * 1024);
      for (let reads = 0; reads < 10_000_000; reads++) {
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch {
          return;
        }
        if (n === null) return;
        const seen = count(buf.subarray(0, n));
        if (counting) {
          events += seen;
          bytes += n;
        }
      }
    })());
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  // The runner samples the server's CPU at these two lines, so the CPU it
  // counts is that of the window the events are counted in.
  console.log("window start");
  counting = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  counting = false;
  console.log("window end");
  const elapsed = (performance.now() - start) / 1000;
  for (const conn of conns) {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  await Promise.allSettled(readers);
  console.log(JSON.stringify({ events, bytes, seconds: elapsed }));
}

async function download(count: number): Promise<void> {
  let bytes = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/download`);
    const reader = res.body!.getReader();
    for (let reads = 0; reads < 10_000_000; reads++) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
    }
  }
  console.log(JSON.stringify({ bytes, seconds: (performance.now() - start) / 1000 }));
}

async function upload(count: number, mib: number): Promise<void> {
  const chunk = new Uint8Array(256 * 1024).fill(117);
  const total = mib * 1024 * 1024;
  let bytes = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    let sent = 0;
    const res = await fetch(`http://127.0.0.1:${port}/upload`, {
      method: "PUT",
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= total) return controller.close();
          controller.enqueue(chunk);
          sent += chunk.length;
        },
      }, { highWaterMark: 0 }),
    });
    bytes += (await res.json()).bytes;
  }
  console.log(JSON.stringify({ bytes, seconds: (performance.now() - start) / 1000 }));
}

if (mode === "sse") await sse(Number(a), Number(b));
else if (mode === "upload") await upload(Number(a), Number(b));
else if (mode === "download") await download(Number(a));
else throw new Error(`unknown mode ${mode}: use sse or download`);
