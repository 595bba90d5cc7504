// Hostile clients over raw TCP: each case checks Ferry's answer, then that the
// server still serves an ordinary fetch. Timeouts are configured small to keep
// the tests fast; durations are never asserted.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { rawExchange, serve, type TestServer } from "./_helpers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const encoder = new TextEncoder();

/** Raw bytes from a string of char codes 0-255 (so "\xff" is one byte). */
function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

function statusOf(raw: string): number {
  return Number(raw.slice(9, 12));
}

/** Every status line in a raw exchange, in order. */
function statuses(raw: string): number[] {
  return [...raw.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

let smuggled = 0;

function hostileApp(): App {
  const app = new App();
  app.get("/", () => "ok");
  app.get("/user/:id", (c) => `user ${JSON.stringify(c.params.id)}`);
  app.get("/smuggled", () => {
    smuggled++;
    return "smuggled";
  });
  app.post("/echo", async (c) => `echo ${(await c.req.text()).length}`);
  app.get("/order/:n", async (c) => {
    // Later requests finish first, so only ordering by Ferry keeps them in order.
    await sleep((5 - Number(c.params.n)) * 10);
    return `answer ${c.params.n};`;
  });
  app.get("/big", () => "x".repeat(20 * 1024 * 1024));
  return app;
}

/** Polls (bounded) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !done(); i++) await sleep(5);
  assert(done(), `gave up waiting for ${what}`);
}

/** The server still answers an ordinary request. */
async function stillServes(t: TestServer): Promise<void> {
  const res = await fetch(`${t.base}/`);
  assertEquals([res.status, await res.text()], [200, "ok"]);
}

/** A raw connection that reads in the background and records whether the server closed it. */
class Peer {
  #conn: Deno.TcpConn;
  #chunks: Uint8Array[] = [];
  closed = false;
  #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reading = this.#read();
  }

  static async open(port: number): Promise<Peer> {
    return new Peer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      for (let i = 0; i < 100_000; i++) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#chunks.push(buf.slice(0, n));
      }
    } catch {
      // reset by the server, or closed by us
    }
    this.closed = true;
  }

  /** Bytes read so far, as text. */
  get text(): string {
    const all = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of this.#chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return new TextDecoder().decode(all);
  }

  get received(): number {
    return this.#chunks.reduce((n, c) => n + c.length, 0);
  }

  /** Writes; false when the server already closed the socket. */
  async write(data: string | Uint8Array): Promise<boolean> {
    try {
      await this.#conn.write(typeof data === "string" ? encoder.encode(data) : data);
      return true;
    } catch {
      return false;
    }
  }

  /** Waits (bounded) until the server closes the connection. */
  async closedByServer(): Promise<boolean> {
    for (let i = 0; i < 600 && !this.closed; i++) await sleep(5);
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#reading;
  }
}

Deno.test("listen() answers 400 to malformed request lines", async () => {
  await using t = serve(hostileApp());
  for (
    const line of [
      "GARBAGE\r\n\r\n",
      "GET /\r\n\r\n",
      "GET / HTTP/9.9\r\nhost: x\r\n\r\n",
      "GET  / HTTP/1.1\r\nhost: x\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ]
  ) {
    const raw = await rawExchange(t.server.addr.port, bytes(line), 1000);
    assertEquals(statusOf(raw), 400, JSON.stringify(line));
  }
  assertEquals(t.server.stats().toJs, 0);
  await stillServes(t);
});

Deno.test("listen() answers 400 to invalid bytes in header names and values", async () => {
  await using t = serve(hostileApp());
  for (
    const header of [
      "x bad: 1",
      "x\x01y: 1",
      "x(y): 1",
      ": empty-name",
      "x: a\x01b",
      "x: a\x7fb",
      "x: a\rb",
    ]
  ) {
    const raw = await rawExchange(
      t.server.addr.port,
      bytes(`GET / HTTP/1.1\r\nhost: x\r\n${header}\r\n\r\n`),
      1000,
    );
    assertEquals(statusOf(raw), 400, JSON.stringify(header));
  }
  assertEquals(t.server.stats().toJs, 0);
  await stillServes(t);
});

Deno.test("listen() answers 400 to NUL bytes in the path and headers", async () => {
  await using t = serve(hostileApp());
  for (
    const request of [
      "GET /a\x00b HTTP/1.1\r\nhost: x\r\n\r\n",
      "GET /user/\x00 HTTP/1.1\r\nhost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nhost: x\r\nx-n: a\x00b\r\n\r\n",
      "GET / HTTP/1.1\r\nhost: x\r\nx\x00n: 1\r\n\r\n",
    ]
  ) {
    const raw = await rawExchange(t.server.addr.port, bytes(request), 1000);
    assertEquals(statusOf(raw), 400, JSON.stringify(request));
  }
  // Percent-encoded NUL is valid UTF-8: the handler receives it as a character.
  const raw = await rawExchange(
    t.server.addr.port,
    "GET /user/%00 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    1000,
  );
  assertEquals(statusOf(raw), 200, raw);
  assert(raw.endsWith('user "\\u0000"'), raw);
  await stillServes(t);
});

Deno.test("listen() handles Content-Length with Transfer-Encoding per RFC 9112: one request, then close", async () => {
  smuggled = 0;
  await using t = serve(hostileApp());
  const hidden = "GET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n";
  for (
    const head of [
      "content-length: 4\r\ntransfer-encoding: chunked",
      "transfer-encoding: chunked\r\ncontent-length: 40",
      "content-length: 40\r\ntransfer-encoding: chunked",
    ]
  ) {
    // A front end trusting Content-Length would forward one request; a back end
    // trusting Transfer-Encoding would see two. Ferry must never answer two.
    const raw = await rawExchange(
      t.server.addr.port,
      `POST /echo HTTP/1.1\r\nhost: x\r\n${head}\r\n\r\n0\r\n\r\n${hidden}`,
      1000,
    );
    const seen = statuses(raw);
    assertEquals(seen.length, 1, raw);
    assert(seen[0] === 400 || seen[0] === 200, raw);
    // RFC 9112 §6.1: the server MUST close the connection after responding.
    assert(/\r\nconnection: close\r\n/i.test(raw), raw);
    if (seen[0] === 200) assert(raw.endsWith("echo 0"), raw);
  }
  assertEquals(smuggled, 0);
  await stillServes(t);
});

Deno.test("listen() answers 400 to a Transfer-Encoding whose last coding is not chunked", async () => {
  await using t = serve(hostileApp());
  for (
    const coding of ["chunked, identity", "gzip", "identity", "chunked\r\ntransfer-encoding: x"]
  ) {
    const raw = await rawExchange(
      t.server.addr.port,
      `POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: ${coding}\r\n\r\n0\r\n\r\n`,
      1000,
    );
    assertEquals(statusOf(raw), 400, `${coding}: ${raw}`);
  }
  await stillServes(t);
});

Deno.test("listen() answers 400 to differing or malformed Content-Length", async () => {
  await using t = serve(hostileApp());
  for (
    const head of [
      "content-length: 5\r\ncontent-length: 6",
      "content-length: 5, 6",
      "content-length: -1",
      "content-length: 0x5",
      "content-length: 5 5",
      "content-length: +5",
    ]
  ) {
    const raw = await rawExchange(
      t.server.addr.port,
      `POST /echo HTTP/1.1\r\nhost: x\r\n${head}\r\n\r\nhello!`,
      1000,
    );
    assertEquals(statusOf(raw), 400, `${head}: ${raw}`);
  }
  // Identical duplicates are one length (RFC 9110 §8.6 allows accepting them).
  const same = await rawExchange(
    t.server.addr.port,
    "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 5\r\n" +
      "connection: close\r\n\r\nhello",
    1000,
  );
  assert(same.startsWith("HTTP/1.1 200 ") && same.endsWith("echo 5"), same);
  await stillServes(t);
});

Deno.test("listen() answers 431 to oversized headers and 414 to an oversized URL over raw TCP", async () => {
  await using t = serve(hostileApp(), { maxHeaderBytes: 2048, maxUrlBytes: 1024 });
  const port = t.server.addr.port;
  const headers = await rawExchange(
    port,
    `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(4096)}\r\nconnection: close\r\n\r\n`,
    1000,
  );
  assertEquals(statusOf(headers), 431, headers.slice(0, 200));
  const many = Array.from({ length: 200 }, (_, i) => `x-h${i}: v\r\n`).join("");
  const manyRaw = await rawExchange(
    port,
    `GET / HTTP/1.1\r\nhost: x\r\n${many}connection: close\r\n\r\n`,
    1000,
  );
  assertEquals(statusOf(manyRaw), 431, manyRaw.slice(0, 200));
  const url = await rawExchange(
    port,
    `GET /user/${"a".repeat(2000)} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    1000,
  );
  assertEquals(statusOf(url), 414, url.slice(0, 200));
  // A target far beyond hyper's own buffer is refused too (431 or 414, never served).
  const huge = await rawExchange(
    port,
    `GET /${"a".repeat(200_000)} HTTP/1.1\r\nhost: x\r\n\r\n`,
    1000,
  );
  assert([414, 431, 400].includes(statusOf(huge)), huge.slice(0, 200));
  assertEquals(t.server.stats().toJs, 0);
  await stillServes(t);
});

Deno.test("listen() answers 413 to a declared oversized body without reading it", async () => {
  await using t = serve(hostileApp(), { maxBodyBytes: 1000 });
  await using peer = await Peer.open(t.server.addr.port);
  // 100 MB declared, 10 bytes sent: the answer must come without the rest.
  await peer.write("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\n\r\n0123456789");
  await until(() => peer.text.includes("\r\n\r\n") || peer.closed, "the 413");
  assertEquals(statusOf(peer.text), 413, peer.text);
  assertEquals(t.server.stats().toJs, 0);
  await stillServes(t);
});

Deno.test("listen() answers 413 to an endless chunked body", async () => {
  await using t = serve(hostileApp(), { maxBodyBytes: 1000 });
  await using peer = await Peer.open(t.server.addr.port);
  await peer.write("POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n");
  const chunk = `100\r\n${"a".repeat(256)}\r\n`;
  // Keep sending (bounded) and never send the last chunk.
  for (let i = 0; i < 200 && !peer.text.includes("\r\n\r\n") && !peer.closed; i++) {
    if (!await peer.write(chunk)) break;
    await sleep(1);
  }
  await until(() => peer.text.includes("\r\n\r\n") || peer.closed, "the 413");
  assertEquals(statusOf(peer.text), 413, peer.text);
  // The body streams to its handler as it arrives (so the request reached
  // JavaScript), but the 413 is Rust's, and the slot comes back.
  await until(() => t.server.stats().slotsInUse === 0, "the slot back");
  await stillServes(t);
});

Deno.test("listen() closes a slowloris connection after headerTimeoutMs", async () => {
  await using t = serve(hostileApp(), { headerTimeoutMs: 200 });
  await using peer = await Peer.open(t.server.addr.port);
  await peer.write("GET / HTTP/1.1\r\nhost: x\r\n");
  // One header line every 50 ms, bounded: the server must give up first.
  for (let i = 0; i < 60 && !peer.closed; i++) {
    if (!await peer.write(`x-drip-${i}: 1\r\n`)) break;
    await sleep(50);
  }
  assert(await peer.closedByServer(), "the slow connection is still open");
  assert(!peer.text.includes(" 200 "), peer.text);
  assertEquals(t.server.stats().toJs, 0);
  await stillServes(t);
});

Deno.test("listen() answers 408 to a slow body after bodyTimeoutMs", async () => {
  await using t = serve(hostileApp(), { bodyTimeoutMs: 200 });
  await using peer = await Peer.open(t.server.addr.port);
  await peer.write("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nab");
  for (let i = 0; i < 60 && !peer.text.includes("\r\n\r\n") && !peer.closed; i++) {
    if (!await peer.write("c")) break;
    await sleep(50);
  }
  await until(() => peer.text.includes("\r\n\r\n") || peer.closed, "the 408");
  assertEquals(statusOf(peer.text), 408, peer.text);
  assertEquals(
    (JSON.parse(peer.text.slice(peer.text.indexOf("{"))) as { status: number }).status,
    408,
  );
  assertEquals(t.server.stats().toJs, 0);
  await stillServes(t);
});

Deno.test("listen() closes an idle keep-alive connection after keepAliveTimeoutMs", async () => {
  await using t = serve(hostileApp(), { keepAliveTimeoutMs: 200 });
  // After one answered request.
  await using used = await Peer.open(t.server.addr.port);
  await used.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  await until(() => used.text.endsWith("ok"), "the answer");
  assert(await used.closedByServer(), "the idle keep-alive connection is still open");
  assertEquals(statuses(used.text), [200]);
  // And before any request at all.
  await using silent = await Peer.open(t.server.addr.port);
  assert(await silent.closedByServer(), "the silent connection is still open");
  assertEquals(silent.text, "");
  await until(() => t.server.stats().connections === 0, "connections to close");
  await stillServes(t);
});

Deno.test("a client leaving mid-body costs no slot", async () => {
  await using t = serve(hostileApp());
  {
    await using peer = await Peer.open(t.server.addr.port);
    await peer.write(
      "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n" + "a".repeat(500),
    );
    await sleep(20);
  }
  await until(() => t.server.stats().connections === 0, "the connection to close");
  assertEquals(t.server.stats().slotsInUse, 0);
  assertEquals(t.server.stats().toJs, 0);
  await stillServes(t);
});

Deno.test("a client leaving while its handler runs frees the slot; the late answer is dropped", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  let started = 0;
  let finished = 0;
  const app = hostileApp();
  app.get("/wait", async () => {
    started++;
    await gate;
    finished++;
    return "late";
  });
  await using t = serve(app);
  {
    await using peer = await Peer.open(t.server.addr.port);
    await peer.write("GET /wait HTTP/1.1\r\nhost: x\r\n\r\n");
    await until(() => started === 1, "the handler to start");
    assertEquals(t.server.stats().slotsInUse, 1);
  }
  await until(() => t.server.stats().slotsInUse === 0, "the slot to be reclaimed");
  assert(t.server.stats().abandoned >= 1);
  release();
  await until(() => finished === 1, "the handler to finish");
  await stillServes(t);
  const res = await fetch(`${t.base}/user/7`);
  assertEquals(await res.text(), 'user "7"');
  assertEquals(t.server.stats().slotsInUse, 0);
});

Deno.test("a client leaving mid-response frees its slot and connection", async () => {
  await using t = serve(hostileApp());
  {
    await using peer = await Peer.open(t.server.addr.port);
    await peer.write("GET /big HTTP/1.1\r\nhost: x\r\n\r\n");
    await until(() => peer.received >= 64 * 1024, "the first bytes of the big answer");
  }
  await until(() => t.server.stats().connections === 0, "the connection to close");
  assertEquals(t.server.stats().slotsInUse, 0);
  await stillServes(t);
  // A complete big answer still arrives intact afterwards.
  const res = await fetch(`${t.base}/big`);
  assertEquals((await res.text()).length, 20 * 1024 * 1024);
});

Deno.test("listen() answers 5 pipelined requests in order", async () => {
  await using t = serve(hostileApp());
  const requests = [1, 2, 3, 4, 5].map((n) => `GET /order/${n} HTTP/1.1\r\nhost: x\r\n\r\n`);
  requests[4] = requests[4].replace("\r\n\r\n", "\r\nconnection: close\r\n\r\n");
  const raw = await rawExchange(t.server.addr.port, requests.join(""), 2000);
  assertEquals(statuses(raw), [200, 200, 200, 200, 200], raw);
  const answers = [...raw.matchAll(/answer (\d);/g)].map((m) => Number(m[1]));
  assertEquals(answers, [1, 2, 3, 4, 5]);
  await stillServes(t);
});

Deno.test("listen() speaks HTTP/1.0: closes by default, keeps alive when asked", async () => {
  await using t = serve(hostileApp());
  {
    await using peer = await Peer.open(t.server.addr.port);
    await peer.write("GET / HTTP/1.0\r\n\r\n");
    assert(await peer.closedByServer(), "an HTTP/1.0 connection stayed open");
    assert(peer.text.startsWith("HTTP/1.0 200 OK\r\n"), peer.text);
    assert(peer.text.endsWith("\r\n\r\nok"), peer.text);
    assert(/\r\ncontent-length: 2\r\n/i.test(peer.text), peer.text);
  }
  {
    await using peer = await Peer.open(t.server.addr.port);
    await peer.write("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n");
    await until(() => peer.text.endsWith("ok") || peer.closed, "the first answer");
    assert(/\r\nconnection: keep-alive\r\n/i.test(peer.text), peer.text);
    assert(!peer.closed, "keep-alive was not honoured");
    await peer.write("GET /user/2 HTTP/1.0\r\n\r\n");
    assert(await peer.closedByServer(), "the second HTTP/1.0 request did not close");
    assertEquals(statuses(peer.text), [200, 200], peer.text);
    assert(peer.text.endsWith('user "2"'), peer.text);
  }
  await stillServes(t);
});

Deno.test("listen() answers Expect: 100-continue with 100, then the final answer", async () => {
  await using t = serve(hostileApp(), { maxBodyBytes: 1000 });
  {
    await using peer = await Peer.open(t.server.addr.port);
    await peer.write(
      "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n",
    );
    await until(() => peer.text.includes("\r\n\r\n"), "100 Continue");
    assert(peer.text.startsWith("HTTP/1.1 100 Continue\r\n"), peer.text);
    await peer.write("hello");
    await until(() => peer.text.endsWith("echo 5"), "the final answer");
    assertEquals(statuses(peer.text), [100, 200]);
  }
  {
    // Too large: refused on the headers, no 100 Continue invited.
    await using peer = await Peer.open(t.server.addr.port);
    await peer.write(
      "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\nexpect: 100-continue\r\n\r\n",
    );
    await until(() => peer.text.includes("\r\n\r\n"), "the 413");
    assertEquals(statusOf(peer.text), 413, peer.text);
    assert(!peer.text.includes(" 100 "), peer.text);
  }
  await stillServes(t);
});

Deno.test("listen() answers 400 to invalid UTF-8 in a route param and 404 elsewhere", async () => {
  await using t = serve(hostileApp());
  const port = t.server.addr.port;
  const get = (path: string) =>
    rawExchange(port, bytes(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`), 1000);
  for (const path of ["/user/%C3%28", "/user/%FF", "/user/%ED%A0%80"]) {
    assertEquals(statusOf(await get(path)), 400, path);
  }
  for (const path of ["/nowhere/%C3%28", "/nowhere/%FF"]) {
    assertEquals(statusOf(await get(path)), 404, path);
  }
  // Raw bytes above 0x7f are not a valid request target at all.
  assertEquals(statusOf(await get("/user/\xff\xfe")), 400);
  assertEquals(statusOf(await get("/nowhere/\xff")), 400);
  assertEquals(t.server.stats().toJs, 0);
  await stillServes(t);
});

// percent_decode_str alone passes a malformed escape (%ZZ, a trailing %)
// through literally; router.rs checks every escape before decoding.
Deno.test("listen() answers 400 to invalid percent-encoding in a route param and 404 elsewhere", async () => {
  await using t = serve(hostileApp());
  const port = t.server.addr.port;
  const get = (path: string) =>
    rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`, 1000);
  for (const path of ["/user/%ZZ", "/user/%", "/user/a%2", "/user/%G0"]) {
    assertEquals(statusOf(await get(path)), 400, path);
  }
  for (const path of ["/nowhere/%ZZ", "/nowhere/%"]) {
    assertEquals(statusOf(await get(path)), 404, path);
  }
  await stillServes(t);
});
