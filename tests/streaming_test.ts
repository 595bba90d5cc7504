// Streamed responses: ReadableStream bodies, c.stream(), c.sse(). Latches
// between client and handler prove that chunks go out as they are written
// (no timing assertions); counters prove chunks share crossings.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { latch, rawExchange, serve, until } from "./_helpers.ts";

const ENGINES = ["pump", "thread"] as const;
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads one chunk of text from a body reader. */
async function next(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value, done } = await reader.read();
  return done ? "<done>" : decoder.decode(value);
}

/** Reads the rest of a body as text (at most 10 more chunks). */
async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = "";
  for (let i = 0; i < 10; i++) {
    const chunk = await next(reader);
    if (chunk === "<done>") break;
    text += chunk;
  }
  return text;
}

for (const engine of ENGINES) {
  Deno.test(`a ReadableStream body goes out chunk by chunk, before it ends (${engine})`, async () => {
    const app = new App();
    const second = latch();
    app.get("/download", () => {
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (i === 1) await second.wait;
          if (i === 3) return controller.close();
          controller.enqueue(new TextEncoder().encode(`part ${i++};`));
        },
      });
      return new Response(body, { headers: { "content-type": "application/zip" } });
    });
    await using t = serve(app, { engine });
    const res = await fetch(`${t.base}/download`);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "application/zip");
    assertEquals(res.headers.get("content-length"), null);
    const reader = res.body!.getReader();
    // The first part arrives while the handler still waits to write the second.
    assertEquals(await next(reader), "part 0;");
    second.open();
    assertEquals(await rest(reader), "part 1;part 2;");
    assert(await until(() => t.server.stats().streamsOpen === 0));
    assertEquals(t.server.stats().slotsInUse, 0);
  });

  Deno.test(`a Response whose body is ready at once goes out whole, with content-length (${engine})`, async () => {
    const app = new App();
    app.get("/", () => new Response("hello whole", { headers: { "x-a": "1" } }));
    await using t = serve(app, { engine });
    const res = await fetch(`${t.base}/`);
    assertEquals(await res.text(), "hello whole");
    assertEquals(res.headers.get("content-length"), "11");
    assertEquals(res.headers.get("x-a"), "1");
  });

  Deno.test(`c.sse() sends each event as it is written, then keeps the stream open (${engine})`, async () => {
    const app = new App();
    const gates = [latch(), latch(), latch()];
    let lastId: string | undefined;
    app.get("/events", (c) =>
      c.sse(async (s) => {
        lastId = s.lastEventId;
        for (let i = 0; i < 3 && !s.closed; i++) {
          await s.send({ event: "tick", id: String(i), data: { i } });
          await gates[i].wait;
        }
        await s.send("line one\nline two");
        await s.comment("bye");
      }));
    await using t = serve(app, { engine });
    const res = await fetch(`${t.base}/events`, { headers: { "last-event-id": "41" } });
    assertEquals(res.headers.get("content-type"), "text/event-stream");
    assertEquals(res.headers.get("cache-control"), "no-cache");
    const reader = res.body!.getReader();
    for (let i = 0; i < 3; i++) {
      assertEquals(await next(reader), `event: tick\nid: ${i}\ndata: {"i":${i}}\n\n`);
      gates[i].open();
    }
    assertEquals(await rest(reader), "data: line one\ndata: line two\n\n: bye\n\n");
    assertEquals(lastId, "41");
  });

  Deno.test(`a client that leaves mid-stream cancels it and frees everything (${engine})`, async () => {
    const app = new App();
    let cancelled = false;
    let signalled = false;
    app.get("/endless", (c) => {
      c.req.signal.addEventListener("abort", () => signalled = true);
      let i = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            await sleep(5);
            controller.enqueue(new TextEncoder().encode(`tick ${i++}\n`));
          },
          cancel() {
            cancelled = true;
          },
        }),
      );
    });
    let sseClosed = false;
    app.get("/sse", (c) =>
      c.sse(async (s) => {
        while (!s.closed) {
          await s.send("ping");
          await s.sleep(5);
        }
        sseClosed = true;
      }));
    await using t = serve(app, { engine });
    for (const path of ["/endless", "/sse"]) {
      const controller = new AbortController();
      const res = await fetch(`${t.base}${path}`, { signal: controller.signal });
      const reader = res.body!.getReader();
      await next(reader);
      await next(reader);
      controller.abort();
      await reader.cancel().catch(() => {});
    }
    assert(await until(() => cancelled && sseClosed), "the streams were not cancelled");
    assert(signalled, "c.req.signal was not aborted");
    assert(
      await until(() => t.server.stats().streamsOpen === 0 && t.server.stats().slotsInUse === 0),
    );
  });

  Deno.test(`a stream that throws mid-way ends the transfer as failed and the server keeps serving (${engine})`, async () => {
    const app = new App();
    app.get("/fails", (c) =>
      c.stream(async (w) => {
        await w.write("first;");
        await sleep(10);
        throw new Error("broken producer");
      }));
    app.get("/ok", () => "ok");
    await using t = serve(app, { engine });
    const res = await fetch(`${t.base}/fails`);
    const reader = res.body!.getReader();
    assertEquals(await next(reader), "first;");
    let failed = false;
    try {
      for (let i = 0; i < 10; i++) if ((await next(reader)) === "<done>") break;
    } catch {
      failed = true;
    }
    assert(failed, "the failed transfer ended like a complete one");
    assertEquals(await (await fetch(`${t.base}/ok`)).text(), "ok");
    assert(
      await until(() => t.server.stats().streamsOpen === 0 && t.server.stats().slotsInUse === 0),
    );
  });
}

Deno.test("100 concurrent SSE clients each receive every event in order, chunks sharing crossings", async () => {
  const app = new App();
  const EVENTS = 20;
  const go = latch();
  let connected = 0;
  app.get("/feed", (c) =>
    c.sse(async (s) => {
      connected++;
      await go.wait;
      for (let i = 0; i < EVENTS && !s.closed; i++) {
        await s.send({ id: String(i), data: `event ${i}` });
        await s.sleep(2);
      }
    }));
  await using t = serve(app);
  const clients = Array.from({ length: 100 }, async () => {
    const res = await fetch(`${t.base}/feed`);
    return await res.text();
  });
  assert(await until(() => connected === 100));
  go.open();
  const texts = await Promise.all(clients);
  const expected = Array.from({ length: EVENTS }, (_, i) => `id: ${i}\ndata: event ${i}\n\n`).join(
    "",
  );
  for (const text of texts) assertEquals(text, expected);
  const stats = t.server.stats();
  assert(stats.chunksIn >= 100, `${stats.chunksIn} chunks`);
  // Many streams' chunks share each crossing.
  assert(stats.ffiCallsPerChunk < 0.5, `${stats.ffiCallsPerChunk} FFI calls per chunk`);
});

Deno.test("a slow reader holds bounded memory: the writer waits instead of buffering", async () => {
  const app = new App();
  let written = 0;
  const chunk = new Uint8Array(16 * 1024);
  app.get("/firehose", (c) =>
    c.stream(async (w) => {
      for (let i = 0; i < 16 * 1024 && !w.closed; i++) {
        await w.write(chunk);
        written += chunk.length;
      }
    }));
  await using t = serve(app);
  const rss0 = Deno.memoryUsage().rss;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.server.addr.port });
  await conn.write(new TextEncoder().encode("GET /firehose HTTP/1.1\r\nhost: x\r\n\r\n"));
  // Read 1 KiB at a time, slowly: the socket buffers fill, and the writer
  // must stop far short of the 256 MiB it offers.
  const buf = new Uint8Array(1024);
  let before = -1;
  for (let i = 0; i < 100 && written !== before; i++) {
    before = written;
    await conn.read(buf);
    await sleep(30);
  }
  const grown = Deno.memoryUsage().rss - rss0;
  assert(written < 32 * 1024 * 1024, `${written} bytes written to a client that does not read`);
  assert(grown < 16 * 1024 * 1024, `RSS grew by ${grown >> 20} MiB`);
  conn.close();
  assert(
    await until(() => t.server.stats().streamsOpen === 0 && t.server.stats().slotsInUse === 0),
  );
});

Deno.test("app.fetch returns the same streamed responses in-process", async () => {
  const app = new App();
  app.get("/events", (c) =>
    c.sse(async (s) => {
      await s.send({ event: "a", data: "1" });
      await s.send({ data: { two: 2 } });
    }));
  app.get("/log", (c) =>
    c.stream(async (w) => {
      await w.write("x");
      await w.write(new Uint8Array([0x79]));
    }, "text/plain"));
  const sse = await app.fetch(new Request("http://localhost/events"));
  assertEquals(sse.headers.get("content-type"), "text/event-stream");
  assertEquals(await sse.text(), 'event: a\ndata: 1\n\ndata: {"two":2}\n\n');
  const log = await app.fetch(new Request("http://localhost/log"));
  assertEquals(log.headers.get("content-type"), "text/plain");
  assertEquals(await log.text(), "xy");
});

Deno.test("HTTP/2: two streamed responses and a streamed upload share one connection, and a failure resets only its stream", async () => {
  const http2 = await import("node:http2");
  const app = new App();
  const gate = latch();
  app.get("/a", (c) =>
    c.stream(async (w) => {
      await w.write("a1;");
      await gate.wait;
      await w.write("a2;");
    }));
  app.get("/b", (c) =>
    c.stream(async (w) => {
      await w.write("b1;");
      gate.open();
      await w.write("b2;");
    }));
  app.get("/fails", (c) =>
    c.stream(async (w) => {
      await w.write("x;");
      await sleep(5);
      throw new Error("broken over HTTP/2");
    }));
  app.put("/upload", async (c) => {
    let n = 0;
    for await (const chunk of c.req.body!) n += chunk.length;
    return `got ${n}`;
  });
  await using t = serve(app);
  const session = http2.connect(t.base);
  const get = (path: string) =>
    new Promise<{ status: number; body: string; error?: unknown }>((resolve) => {
      const req = session.request({ ":path": path });
      let status = 0;
      let body = "";
      req.on("response", (headers) => status = Number(headers[":status"]));
      req.on("data", (chunk: Uint8Array) => body += decoder.decode(chunk));
      req.on("end", () => resolve({ status, body }));
      req.on("error", (error) => resolve({ status, body, error }));
      req.end();
    });
  const upload = new Promise<string>((resolve, reject) => {
    const req = session.request({ ":path": "/upload", ":method": "PUT" });
    let body = "";
    req.on("data", (chunk: Uint8Array) => body += decoder.decode(chunk));
    req.on("end", () => resolve(body));
    req.on("error", reject);
    for (let i = 0; i < 32; i++) req.write(new Uint8Array(32 * 1024).fill(i));
    req.end();
  });
  const [a, b, fails] = await Promise.all([get("/a"), get("/b"), get("/fails")]);
  assertEquals(await upload, `got ${32 * 32 * 1024}`);
  assertEquals(a, { status: 200, body: "a1;a2;" });
  assertEquals(b, { status: 200, body: "b1;b2;" });
  assertEquals(fails.body, "x;");
  assert(fails.error !== undefined, "the failed stream ended like a complete one");
  session.close();
  assert(
    await until(() => t.server.stats().streamsOpen === 0 && t.server.stats().slotsInUse === 0),
  );
});

Deno.test("compress() skips event streams and flushes other live streams per chunk", async () => {
  const { compress } = await import("../mod.ts");
  const app = new App();
  app.use(compress({ threshold: 0 }));
  const second = latch();
  app.get("/events", (c) => c.sse((s) => s.send("not compressed")));
  app.get("/log", (c) =>
    c.stream(async (w) => {
      await w.write("first ".repeat(50));
      await second.wait;
      await w.write("second");
    }, "text/plain"));
  await using t = serve(app);
  const sse = await fetch(`${t.base}/events`, { headers: { "accept-encoding": "gzip" } });
  assertEquals(sse.headers.get("content-encoding"), null);
  assertEquals(await sse.text(), "data: not compressed\n\n");
  const res = await fetch(`${t.base}/log`, { headers: { "accept-encoding": "gzip" } });
  assertEquals(res.headers.get("content-encoding"), "gzip");
  const reader = res.body!.getReader();
  // fetch decompresses: the first chunk is readable before the second exists.
  assertEquals(await next(reader), "first ".repeat(50));
  second.open();
  assertEquals(await rest(reader), "second");
});

/** A body made of `chunks` chunks of `size` bytes, each chunk's bytes = its index. */
function slowBody(chunks: number, size: number, gate?: Promise<void>): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i === 1 && gate) await gate;
      if (i === chunks) return controller.close();
      controller.enqueue(new Uint8Array(size).fill(i++ & 0xff));
    },
  });
}

for (const engine of ENGINES) {
  Deno.test(`c.req.body streams an upload as it arrives, and text()/json() still work (${engine})`, async () => {
    const app = new App();
    const firstSeen = latch();
    app.put("/upload", async (c) => {
      let n = 0;
      let wrong = 0;
      for await (const chunk of c.req.body!) {
        if (n === 0) firstSeen.open();
        // Byte p of the body is floor(p / 64 KiB) & 0xff: check every one.
        for (let i = 0; i < chunk.length; i++) {
          if (chunk[i] !== (((n + i) >> 16) & 0xff)) wrong++;
        }
        n += chunk.length;
      }
      return { bytes: n, wrong };
    });
    app.post("/json", async (c) => c.json(await c.req.json()));
    await using t = serve(app, { engine });
    // The handler sees the first chunk before the client sends the second.
    const res = await fetch(`${t.base}/upload`, {
      method: "PUT",
      body: slowBody(64, 64 * 1024, firstSeen.wait),
    });
    assertEquals(await res.json(), { bytes: 64 * 64 * 1024, wrong: 0 });
    // A streamed JSON body still parses.
    const big = { items: Array.from({ length: 20_000 }, (_, i) => ({ i, name: `item ${i}` })) };
    const encoded = new TextEncoder().encode(JSON.stringify(big));
    const json = await fetch(`${t.base}/json`, {
      method: "POST",
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < encoded.length; at += 10_000) {
            controller.enqueue(encoded.slice(at, at + 10_000));
          }
          controller.close();
        },
      }),
    });
    assertEquals(await json.json(), big);
    assert(await until(() => t.server.stats().slotsInUse === 0));
  });

  Deno.test(`bodyLimit overrides maxBodyBytes per route: 413 mid-stream, before reading when declared (${engine})`, async () => {
    const app = new App();
    let failed = "";
    app.put("/small", async (c) => {
      try {
        for await (const _ of c.req.body!) { /* read */ }
      } catch (error) {
        failed = (error as Error).message;
      }
      return "read";
    }, { bodyLimit: 100_000 });
    app.put("/big", async (c) => ({ bytes: (await c.req.bytes()).length }), {
      bodyLimit: 64 * 1024 * 1024,
    });
    await using t = serve(app, { engine, maxBodyBytes: 1024 });
    // Chunked (no declared length), over a raw socket: fetch may fail to
    // read an answer that comes while it is still sending.
    const chunk = "x".repeat(16 * 1024);
    const chunked = `PUT /small HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n` +
      `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(8);
    const answer = await rawExchange(t.server.addr.port, chunked, 2000);
    assert(answer.startsWith("HTTP/1.1 413"), answer.slice(0, 80));
    const declared = await fetch(`${t.base}/small`, {
      method: "PUT",
      body: new Uint8Array(200_000),
    });
    assertEquals(declared.status, 413);
    await declared.body?.cancel();
    const big = await fetch(`${t.base}/big`, { method: "PUT", body: slowBody(40, 64 * 1024) });
    assertEquals(await big.json(), { bytes: 40 * 64 * 1024 });
    assert(await until(() => failed !== ""), "the handler's body stream did not fail");
    assert(await until(() => t.server.stats().slotsInUse === 0));
  });
}

Deno.test("a streamed upload of 1 GiB checks out with bounded server memory", async () => {
  const app = new App();
  const TOTAL = 1024 * 1024 * 1024;
  app.put("/upload", async (c) => {
    let n = 0;
    let wrong = 0;
    for await (const chunk of c.req.body!) {
      // Byte p of the body is floor(p / 256 KiB) & 0xff: check every one.
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== (((n + i) >> 18) & 0xff)) wrong++;
      }
      n += chunk.length;
    }
    return { bytes: n, wrong };
  }, { bodyLimit: TOTAL });
  await using t = serve(app);
  // The client is another process, so this process's RSS is the server's.
  const client = `
    const chunk = new Uint8Array(256 * 1024);
    let sent = 0;
    const res = await fetch("${t.base}/upload", {
      method: "PUT",
      body: new ReadableStream({
        pull(controller) {
          if (sent >= ${TOTAL}) return controller.close();
          chunk.fill((sent / chunk.length) & 0xff);
          controller.enqueue(chunk.slice());
          sent += chunk.length;
        },
      }, { highWaterMark: 0 }),
    });
    console.log(await res.text());
  `;
  const before = Deno.memoryUsage().rss;
  let peak = before;
  const watch = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", client],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  clearInterval(watch);
  assertEquals(JSON.parse(decoder.decode(out.stdout)), { bytes: TOTAL, wrong: 0 });
  assert(peak - before < 32 * 1024 * 1024, `server RSS grew by ${(peak - before) >> 20} MiB`);
});

Deno.test("c.sse() sends a keep-alive comment when a period passes without an event", async () => {
  const app = new App();
  const done = latch();
  app.get("/quiet", (c) =>
    c.sse(async (s) => {
      await s.send("hello");
      await done.wait;
    }, { keepAliveMs: 30 }));
  await using t = serve(app);
  const res = await fetch(`${t.base}/quiet`);
  const reader = res.body!.getReader();
  let text = "";
  for (let i = 0; i < 50 && !text.includes(": keep-alive\n\n"); i++) text += await next(reader);
  done.open();
  assert(text.startsWith("data: hello\n\n"), text);
  assert(text.includes(": keep-alive\n\n"), text);
  await reader.cancel();
});

/** The largest send buffer the kernel autotunes a TCP socket to (tcp_wmem's third field). */
function kernelSendBufferMax(): number {
  try {
    const max = Number(Deno.readTextFileSync("/proc/sys/net/ipv4/tcp_wmem").trim().split(/\s+/)[2]);
    return Number.isFinite(max) && max > 0 ? max : 4 * 1024 * 1024;
  } catch {
    return 4 * 1024 * 1024;
  }
}

Deno.test("listen({ streamHighWaterMark }) bounds what a stream has on its way", async () => {
  const app = new App();
  let written = 0;
  // The kernel holds what the client does not read, up to the socket's
  // send buffer, which autotunes up to tcp_wmem's maximum (4 MiB here, with
  // BBR reached within a few seconds); Ferry adds at most about the mark.
  const kernel = kernelSendBufferMax();
  const total = kernel + 8 * 1024 * 1024;
  app.get("/firehose", (c) =>
    c.stream(async (w) => {
      for (let i = 0; i < total / 1024 && !w.closed; i++) {
        await w.write(new Uint8Array(1024));
        written += 1024;
      }
    }));
  await using t = serve(app, { streamHighWaterMark: 4096 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.server.addr.port });
  await conn.write(new TextEncoder().encode("GET /firehose HTTP/1.1\r\nhost: x\r\n\r\n"));
  // Never read: the writer stops once the socket buffers and the mark are full.
  let before = -1;
  for (let i = 0; i < 100 && written !== before; i++) {
    before = written;
    await sleep(30);
  }
  const bound = kernel + 2 * 1024 * 1024;
  assert(written < bound, `${written} bytes written to a client that does not read`);
  conn.close();
  assert(await until(() => t.server.stats().streamsOpen === 0));
});

for (const mark of [64 * 1024, 256 * 1024]) {
  Deno.test(`a download with a ${mark >> 10} KiB high-water mark refills without parking per chunk`, async () => {
    // A ReadableStream pulled in 64 KiB chunks. With credit left after a
    // chunk, its next one comes a few microtasks later: committing it after
    // a timer turn instead (what a parked loop did) stalled every chunk.
    const app = new App();
    const CHUNK = new Uint8Array(64 * 1024).fill(7);
    const CHUNKS = 256;
    app.get("/download", () => {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ === CHUNKS) return controller.close();
            controller.enqueue(CHUNK);
          },
        }, { highWaterMark: 0 }),
      );
    });
    await using t = serve(app, { streamHighWaterMark: mark });
    await (await fetch(`${t.base}/download`)).arrayBuffer(); // warm-up
    const before = t.server.stats();
    const res = await fetch(`${t.base}/download`);
    assertEquals((await res.arrayBuffer()).byteLength, CHUNKS * CHUNK.length);
    const after = t.server.stats();
    // Commits from a parked loop per chunk: each stood for a timer turn the
    // chunk waited (seen: one per credit cycle, 0.25 per chunk at 256 KiB).
    // The client reads as fast as it can: the loop seldom has nothing to do.
    const parks = (after.ffiCalls.wait - before.ffiCalls.wait) / CHUNKS;
    const commits = (after.ffiCalls.commit - before.ffiCalls.commit) / CHUNKS;
    assert(commits < 0.15, `${commits} outside commits per chunk (${parks} parks)`);
  });
}

Deno.test("a stream to a client that never reads is dropped after sendTimeoutMs, and cancelled", async () => {
  const app = new App();
  let closed = false;
  const payload = "x".repeat(16 * 1024);
  app.get("/flood", (c) =>
    c.sse(async (s) => {
      for (let i = 0; i < 1_000_000 && !s.closed; i++) await s.send(payload);
      closed = s.closed;
    }));
  await using t = serve(app, { sendTimeoutMs: 300 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.server.addr.port });
  await conn.write(new TextEncoder().encode("GET /flood HTTP/1.1\r\nhost: x\r\n\r\n"));
  // Never read: the socket buffers fill, writes stop making progress, and
  // the watchdog drops the connection; the stream is cancelled with it.
  assert(await until(() => closed, 600), "the stream was not cancelled");
  assert(
    await until(() => t.server.stats().streamsOpen === 0 && t.server.stats().connections === 0),
  );
  conn.close();
});
