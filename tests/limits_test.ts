// Request limits are enforced in Rust, before JavaScript sees the request.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { rawExchange, serve } from "./_helpers.ts";

function echo(): App {
  const app = new App();
  app.get("/", () => "ok");
  app.post("/echo", async (c) => c.text(String((await c.req.bytes()).length)));
  return app;
}

function statusOf(raw: string): number {
  return Number(raw.slice(9, 12));
}

Deno.test("listen() answers 431 to a 20 KB header block", async () => {
  await using t = serve(echo());
  const res = await fetch(`${t.base}/`, { headers: { "x-big": "a".repeat(20 * 1024) } });
  assertEquals(res.status, 431);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals((await res.json()).status, 431);
  assertEquals(t.server.stats().toJs, 0);
  assertEquals(await (await fetch(`${t.base}/`)).text(), "ok");
});

Deno.test("listen() answers 431 to a 100 KB header that overflows hyper's buffer", async () => {
  await using t = serve(echo());
  const raw = await rawExchange(
    t.server.addr.port,
    `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(100_000)}\r\nconnection: close\r\n\r\n`,
    1000,
  );
  // hyper refuses this one itself, so the body is empty (not problem+json).
  assertEquals(statusOf(raw), 431, raw.slice(0, 200));
});

Deno.test("listen() maxHeaderBytes sets the 431 threshold", async () => {
  await using t = serve(echo(), { maxHeaderBytes: 2048 });
  const small = await fetch(`${t.base}/`, { headers: { "x-h": "a".repeat(1000) } });
  assertEquals(small.status, 200);
  await small.body?.cancel();
  const big = await fetch(`${t.base}/`, { headers: { "x-h": "a".repeat(3000) } });
  assertEquals(big.status, 431);
  await big.body?.cancel();
  // Many small headers add up to the same limit.
  const headers = new Headers();
  for (let i = 0; i < 100; i++) headers.set(`x-h${i}`, "v".repeat(30));
  const many = await fetch(`${t.base}/`, { headers });
  assertEquals(many.status, 431);
  await many.body?.cancel();
});

Deno.test("listen() answers 413 to a declared Content-Length over maxBodyBytes", async () => {
  await using t = serve(echo(), { maxBodyBytes: 1000 });
  const fits = await fetch(`${t.base}/echo`, { method: "POST", body: "a".repeat(1000) });
  assertEquals(await fits.text(), "1000");
  const res = await fetch(`${t.base}/echo`, { method: "POST", body: "a".repeat(1001) });
  assertEquals(res.status, 413);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals((await res.json()).status, 413);
  // Declared but never sent: refused on the header alone.
  const raw = await rawExchange(
    t.server.addr.port,
    "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5000000\r\nconnection: close\r\n\r\n",
    1000,
  );
  assertEquals(statusOf(raw), 413, raw);
  assertEquals(t.server.stats().toJs, 1);
});

Deno.test("listen() answers 413 to a chunked body over maxBodyBytes", async () => {
  await using t = serve(echo(), { maxBodyBytes: 1000 });
  const chunk = "a".repeat(600);
  const size = chunk.length.toString(16);
  const raw = await rawExchange(
    t.server.addr.port,
    "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n" +
      `${size}\r\n${chunk}\r\n${size}\r\n${chunk}\r\n0\r\n\r\n`,
  );
  assertEquals(statusOf(raw), 413, raw);
  // A stream body from fetch is sent chunked too.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });
  const res = await fetch(`${t.base}/echo`, { method: "POST", body: stream });
  assertEquals(res.status, 413);
  await res.body?.cancel();
  const okRaw = await rawExchange(
    t.server.addr.port,
    "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n" +
      `${size}\r\n${chunk}\r\n0\r\n\r\n`,
  );
  assertEquals(statusOf(okRaw), 200, okRaw);
  assert(okRaw.endsWith("600"), okRaw);
  // A chunked body still arriving streams to its handler (so the refused
  // ones may have reached JavaScript too), but every 413 is Rust's, and
  // every slot comes back.
  for (let i = 0; i < 100 && t.server.stats().slotsInUse > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assertEquals(t.server.stats().slotsInUse, 0);
});

Deno.test("listen() answers 414 to a URL over maxUrlBytes", async () => {
  await using t = serve(echo(), { maxUrlBytes: 1024 });
  const res = await fetch(`${t.base}/?q=${"x".repeat(2000)}`);
  assertEquals(res.status, 414);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals((await res.json()).status, 414);
  const path = await fetch(`${t.base}/${"p".repeat(2000)}`);
  assertEquals(path.status, 414);
  await path.body?.cancel();
  const fits = await fetch(`${t.base}/?q=${"x".repeat(900)}`);
  assertEquals(fits.status, 200);
  await fits.body?.cancel();
});

Deno.test("listen() answers 414 at the default 8 KiB URL limit", async () => {
  await using t = serve(echo());
  const res = await fetch(`${t.base}/?q=${"x".repeat(9000)}`);
  assertEquals(res.status, 414);
  await res.body?.cancel();
});

Deno.test("listen() rejects bad limit options with RangeError", () => {
  const app = echo();
  for (const options of [{ maxBodyBytes: -1 }, { maxHeaderBytes: 10 }, { maxUrlBytes: 1.5 }]) {
    let threw = false;
    try {
      app.listen({ hostname: "127.0.0.1", port: 0, ...options }).shutdown();
    } catch (error) {
      threw = error instanceof RangeError;
    }
    assertEquals(threw, true, JSON.stringify(options));
  }
});
