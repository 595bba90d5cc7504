// WebSockets end to end (issue #13): a real server on 127.0.0.1:0 and real
// clients — Deno's WebSocket where a browser's view is enough, the raw
// client of _ws_client.ts where a test needs frames a browser never sends
// (fragments, invalid UTF-8, pings without an automatic pong, an abrupt
// TCP close). Counters prove the crossings; latches and bounded waits stand
// in for timing.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App, cors, rateLimit, requestId } from "../mod.ts";
import { rawExchange, serve, until } from "./_helpers.ts";
import { connect, encodeFrame, handshake, Op, pooled, RawSocket, refused } from "./_ws_client.ts";

const ENGINES = ["pump", "thread"] as const;
const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deno's own WebSocket with its messages queued for `next()`. */
class Client {
  readonly ws: WebSocket;
  readonly closed: Promise<CloseEvent>;
  #queue: (string | Uint8Array)[] = [];
  #waiting: ((message: string | Uint8Array) => void)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (event) => {
      const data = typeof event.data === "string" ? event.data : new Uint8Array(event.data);
      const waiter = this.#waiting.shift();
      if (waiter) waiter(data);
      else this.#queue.push(data);
    };
    this.closed = new Promise((resolve) => this.ws.onclose = resolve);
  }

  /** Opens a client on `url`; throws if the handshake fails. */
  static async open(url: string): Promise<Client> {
    const client = new Client(url);
    const opened = new Promise<void>((resolve, reject) => {
      client.ws.onopen = () => resolve();
      client.ws.onerror = (event) =>
        reject(new Error(`handshake failed: ${(event as ErrorEvent).message}`));
    });
    await within(opened, `the handshake of ${url}`);
    return client;
  }

  next(): Promise<string | Uint8Array> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return within(new Promise((resolve) => this.#waiting.push(resolve)), "a message");
  }

  /** Closes and waits for the close to finish. */
  async close(code = 1000, reason = ""): Promise<CloseEvent> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    return await within(this.closed, "the close");
  }
}

function wsUrl(base: string, path: string): string {
  return base.replace("http://", "ws://") + path;
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An echo route at `/echo`, with every close recorded. */
function echoApp(options = {}) {
  const app = new App();
  const closes: { code: number; reason: string }[] = [];
  app.ws("/echo", {
    message(ws, message) {
      ws.send(message);
    },
    close(_ws, code, reason) {
      closes.push({ code, reason });
    },
  }, options);
  return { app, closes };
}

/** The raw client's next frame that is not a message (a close, a ping, the end). */
async function nextControl(socket: RawSocket) {
  return await within(socket.next(), "a frame");
}

// ---------------------------------------------------------------- echo

for (const engine of ENGINES) {
  Deno.test(`app.ws() echoes text and binary messages (${engine})`, async () => {
    const { app, closes } = echoApp();
    await using t = serve(app, { engine });
    const client = await Client.open(wsUrl(t.base, "/echo"));
    client.ws.send("héllo wörld ✓");
    assertEquals(await client.next(), "héllo wörld ✓");
    const data = bytes(1000);
    client.ws.send(data);
    assertEquals(await client.next(), data);
    client.ws.send("");
    assertEquals(await client.next(), "");
    assertEquals((await client.close(1000)).code, 1000);
    assert(await until(() => closes.length === 1), "close() never ran");
    assertEquals(closes[0].code, 1000);
    assert(await until(() => t.server.stats().socketsOpen === 0));
    const stats = t.server.stats();
    assertEquals(stats.socketsOpened, 1);
    assertEquals(stats.wsMessagesIn, 3);
    assertEquals(stats.wsMessagesOut, 3);
  });

  Deno.test(`app.ws() echoes frames from a raw client in order (${engine})`, async () => {
    const { app } = echoApp();
    await using t = serve(app, { engine });
    const socket = await connect(t.server.addr.port, "/echo");
    // Ten messages in one write: the replies come back in the same order.
    const frames = Array.from({ length: 10 }, (_, i) => encodeFrame(Op.TEXT, `m${i}`));
    await socket.write(concat(frames));
    for (let i = 0; i < 10; i++) assertEquals(await within(socket.message(), "an echo"), `m${i}`);
    await socket.finish();
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("a 16 MiB message sent in 256 fragments arrives whole and echoes back", async () => {
  const app = new App();
  const lengths: number[] = [];
  app.ws("/echo", {
    message(ws, message) {
      lengths.push(typeof message === "string" ? -1 : message.length);
      ws.send(message);
    },
  });
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/echo");
  const size = 16 * 1024 * 1024;
  const data = bytes(size, 7);
  const piece = size / 256;
  for (let i = 0; i < 256; i++) {
    await socket.frame(
      i === 0 ? Op.BINARY : Op.CONTINUATION,
      data.subarray(i * piece, (i + 1) * piece),
      i === 255,
    );
  }
  const echo = await within(socket.message(), "the 16 MiB echo", 30_000);
  assertEquals(lengths, [size]);
  assert(echo instanceof Uint8Array && sameBytes(echo, data), "the echo differs");
  await socket.finish();
});

Deno.test("messages larger than the 256 KiB shared area cross both ways", async () => {
  const { app } = echoApp();
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/echo");
  const before = t.server.stats().ffiCalls.total;
  const big = bytes(300 * 1024 + 3, 3);
  await socket.send(big);
  const back = await within(socket.message(), "the binary echo");
  assert(back instanceof Uint8Array && sameBytes(back, big), "the binary echo differs");
  // Multi-byte characters: 400 Ki characters, 1 MiB of UTF-8.
  const text = "aé✓😀".repeat(100 * 1024);
  await socket.send(text);
  assertEquals(await within(socket.message(), "the text echo"), text);
  // A small message after them still goes through the area.
  await socket.send("small");
  assertEquals(await within(socket.message(), "the small echo"), "small");
  // Each large payload took its own call in (ferry_ws_take) and out (ferry_ws_send).
  assert(t.server.stats().ffiCalls.total - before >= 4);
  await socket.finish();
});

Deno.test("messages that overfill the shared area in one batch wait for the next, in order", async () => {
  const app = new App();
  app.ws("/burst", {
    message(ws, message) {
      if (message === "burst") {
        // 20 × 100 KiB in one turn: the outbound area fills and is
        // committed mid-batch.
        for (let i = 0; i < 20; i++) ws.send(new Uint8Array(100 * 1024).fill(i));
        ws.send("burst done");
      } else ws.send(message);
    },
  }, { backpressureLimitBytes: 8 * 1024 * 1024 }); // the burst is 2 MiB
  await using t = serve(app);
  const port = t.server.addr.port;
  const sockets = await Promise.all(Array.from({ length: 10 }, () => connect(port, "/burst")));
  // Inbound: 10 sockets × 5 messages of 200 KiB, each socket's in one write.
  await Promise.all(sockets.map(async (socket, s) => {
    const frames = Array.from(
      { length: 5 },
      (_, k) => encodeFrame(Op.BINARY, new Uint8Array(200 * 1024).fill(s * 5 + k)),
    );
    await socket.write(concat(frames));
    for (let k = 0; k < 5; k++) {
      const got = await within(socket.message(), `echo ${k} of socket ${s}`);
      assert(got instanceof Uint8Array && got.length === 200 * 1024, `echo ${k} of socket ${s}`);
      assert(got.every((b) => b === s * 5 + k), `echo ${k} of socket ${s} is another message`);
    }
  }));
  // Outbound.
  await sockets[0].send("burst");
  for (let i = 0; i < 20; i++) {
    const got = await within(sockets[0].message(), `part ${i}`);
    assert(got instanceof Uint8Array && got.length === 100 * 1024 && got.every((b) => b === i));
  }
  assertEquals(await within(sockets[0].message(), "the end"), "burst done");
  await Promise.all(sockets.map((s) => s.finish()));
});

Deno.test("bufferedAmount counts a send larger than the shared area once, and empties once it is written", async () => {
  const app = new App();
  const seen: number[] = [];
  app.ws("/big", {
    message(ws, message) {
      if (message === "big") {
        const sent = ws.send(new Uint8Array(300 * 1024));
        seen.push(sent, ws.bufferedAmount);
      } else {
        ws.send(`${ws.bufferedAmount}`);
      }
    },
  });
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/big");
  await socket.send("big");
  assertEquals((await within(socket.message(), "the big message")).length, 300 * 1024);
  assertEquals(seen[0], 300 * 1024);
  // The frame's head is at most 10 bytes.
  assert(seen[1] <= 300 * 1024 + 10, `bufferedAmount was ${seen[1]} right after the send`);
  // Written and read: nothing is buffered any more (asked until Rust's
  // count catches up with the write).
  let left = "";
  for (let i = 0; i < 50 && left !== "0"; i++) {
    await socket.send("how much?");
    left = await within(socket.message(), "the answer") as string;
  }
  assertEquals(left, "0");
  await socket.finish();
});

// ---------------------------------------------------------------- ping, pong, idle

Deno.test("a client's ping is answered with a pong carrying the same payload", async () => {
  const { app } = echoApp();
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/echo");
  await socket.frame(Op.PING, "are you there?");
  const pong = await nextControl(socket);
  assertEquals(pong.kind, "pong");
  assertEquals(new TextDecoder().decode((pong as { bytes: Uint8Array }).bytes), "are you there?");
  // An empty ping too, and the socket still echoes afterwards.
  await socket.frame(Op.PING);
  assertEquals(await nextControl(socket), { kind: "pong", bytes: new Uint8Array() });
  await socket.send("still here");
  assertEquals(await within(socket.message(), "an echo"), "still here");
  await socket.finish();
});

Deno.test("an idle socket is pinged at half idleTimeoutMs and closed with 1001 at the whole", async () => {
  const { app, closes } = echoApp({ idleTimeoutMs: 600 });
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/echo");
  // The client never answers the ping.
  const ping = await nextControl(socket);
  assertEquals(ping.kind, "ping");
  const close = await nextControl(socket);
  assertEquals(close.kind === "close" && close.code, 1001);
  await socket.close(1001);
  assertEquals((await nextControl(socket)).kind, "end");
  socket.abort();
  assert(await until(() => closes.length === 1), "close() never ran");
  assertEquals(closes[0].code, 1001);
  assert(await until(() => t.server.stats().socketsOpen === 0));
});

Deno.test("a socket that answers the idle pings stays open past idleTimeoutMs", async () => {
  const { app, closes } = echoApp({ idleTimeoutMs: 800 });
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/echo");
  let pings = 0;
  for (let i = 0; i < 3; i++) {
    const got = await nextControl(socket);
    assertEquals(got.kind, "ping");
    pings++;
    await socket.frame(Op.PONG, (got as { bytes: Uint8Array }).bytes);
  }
  // Three pings answered: past 800 ms, and the socket still echoes.
  assertEquals(pings, 3);
  await socket.send("alive");
  assertEquals(await within(socket.message(), "an echo"), "alive");
  assertEquals(closes.length, 0);
  await socket.finish();
});

// ---------------------------------------------------------------- close codes

Deno.test("a client's close code and reason reach close(), and the client gets its close back", async () => {
  const { app, closes } = echoApp();
  await using t = serve(app);
  const client = await Client.open(wsUrl(t.base, "/echo"));
  client.ws.send("hi");
  assertEquals(await client.next(), "hi");
  const event = await client.close(4001, "bye");
  assertEquals(event.code, 4001);
  assertEquals(event.wasClean, true);
  assert(await until(() => closes.length === 1), "close() never ran");
  assertEquals(closes[0], { code: 4001, reason: "bye" });

  // The raw view of the same: the server's close frame echoes the code.
  const socket = await connect(t.server.addr.port, "/echo");
  await socket.close(4001, "bye");
  const back = await nextControl(socket);
  assertEquals(back.kind === "close" && back.code, 4001);
  assertEquals((await nextControl(socket)).kind, "end");
  socket.abort();
  assert(await until(() => closes.length === 2));
  assertEquals(closes[1], { code: 4001, reason: "bye" });
});

Deno.test("ws.close(4000, reason) reaches the client with its code and reason", async () => {
  const app = new App();
  const closes: number[] = [];
  app.ws("/bye", {
    message(ws) {
      ws.close(4000, "x");
    },
    close(_ws, code) {
      closes.push(code);
    },
  });
  await using t = serve(app);
  const client = await Client.open(wsUrl(t.base, "/bye"));
  client.ws.send("close me");
  const event = await within(client.closed, "the close");
  assertEquals([event.code, event.reason, event.wasClean], [4000, "x", true]);
  assert(await until(() => closes.length === 1), "close() never ran");
  assertEquals(closes, [4000]);
  assert(await until(() => t.server.stats().socketsOpen === 0));
});

Deno.test("ws.send() returns 0 once the socket is closing or closed", async () => {
  const app = new App();
  const results: Record<string, number> = {};
  app.ws("/late", {
    message(ws, message) {
      if (message === "close") {
        ws.close(4000, "done");
        results.afterClose = ws.send("too late");
      } else {
        results.open = ws.send(message);
      }
    },
    close(ws) {
      results.inClose = ws.send("later still");
      results.readyState = ws.readyState;
    },
  });
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/late");
  await socket.send("one");
  assertEquals(await within(socket.message(), "an echo"), "one");
  await socket.send("close");
  // The close frame is the next frame: "too late" never went out.
  const close = await nextControl(socket);
  assertEquals(close.kind === "close" && [close.code, close.reason], [4000, "done"]);
  await socket.close(4000);
  assertEquals((await nextControl(socket)).kind, "end");
  socket.abort();
  assert(await until(() => "inClose" in results), "close() never ran");
  assertEquals(results, { open: 3, afterClose: 0, inClose: 0, readyState: 3 });
  assertEquals(t.server.stats().wsDropped, 2);
});

Deno.test("ws.send() of a message larger than the shared area returns 0 when Rust is closing the socket", async () => {
  const app = new App();
  const results: number[] = [];
  app.ws("/late", {
    message(ws) {
      // Rust closed the socket (idle timeout); its close event has not come yet.
      results.push(ws.send(new Uint8Array(300 * 1024)));
    },
  }, { idleTimeoutMs: 400 });
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/late");
  assertEquals((await nextControl(socket)).kind, "ping");
  const close = await nextControl(socket);
  assertEquals(close.kind === "close" && close.code, 1001);
  const dropped = t.server.stats().wsDropped;
  await socket.send("after the close");
  assert(await until(() => results.length === 1), "message() never ran");
  // Rust answered this send at once (ferry_ws_send), and dropped it.
  assertEquals(t.server.stats().wsDropped - dropped, 1);
  assertEquals(results, [0]);
  await socket.close(1001);
  await nextControl(socket);
  socket.abort();
});

Deno.test("invalid UTF-8 in a text message closes the socket with 1007", async () => {
  const { app, closes } = echoApp();
  await using t = serve(app);
  const port = t.server.addr.port;
  // In one frame.
  const one = await connect(port, "/echo");
  await one.frame(Op.TEXT, new Uint8Array([0x68, 0x69, 0xff, 0xfe]));
  const first = await nextControl(one);
  assertEquals(first.kind === "close" && first.code, 1007);
  // In the second fragment of a message (found before the message ends).
  const two = await connect(port, "/echo");
  await two.frame(Op.TEXT, "fine so far", false);
  await two.frame(Op.CONTINUATION, new Uint8Array([0xc3, 0x28]), false);
  const second = await nextControl(two);
  assertEquals(second.kind === "close" && second.code, 1007);
  for (const s of [one, two]) {
    await s.close(1007);
    s.abort();
  }
  assert(await until(() => closes.length === 2), "close() never ran");
  assertEquals(closes.map((c) => c.code), [1007, 1007]);
  assertEquals(t.server.stats().wsMessagesIn, 0);
});

Deno.test("a message over maxPayloadBytes closes the socket with 1009", async () => {
  const { app, closes } = echoApp({ maxPayloadBytes: 1024 });
  await using t = serve(app);
  const port = t.server.addr.port;
  const one = await connect(port, "/echo");
  await one.send(bytes(1024));
  assertEquals((await within(one.message(), "an echo")).length, 1024);
  await one.send(bytes(1025));
  const first = await nextControl(one);
  assertEquals(first.kind === "close" && first.code, 1009);
  // Fragments that are small on their own but too big together.
  const two = await connect(port, "/echo");
  for (let i = 0; i < 3; i++) await two.frame(i ? Op.CONTINUATION : Op.BINARY, bytes(400), false);
  const second = await nextControl(two);
  assertEquals(second.kind === "close" && second.code, 1009);
  for (const s of [one, two]) {
    await s.close(1009);
    s.abort();
  }
  assert(await until(() => closes.length === 2), "close() never ran");
  assertEquals(closes.map((c) => c.code), [1009, 1009]);
});

Deno.test("a message handler that throws closes its socket with 1011; the others keep going", async () => {
  const app = new App();
  app.ws("/fragile", {
    message(ws, message) {
      if (message === "boom") throw new Error("boom");
      if (message === "async boom") return Promise.reject(new Error("async boom"));
      ws.send(message);
    },
  });
  const logged: unknown[][] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    await using t = serve(app);
    const port = t.server.addr.port;
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => connect(port, "/fragile")));
    await a.send("boom");
    await c.send("async boom");
    for (const s of [a, c]) {
      const close = await nextControl(s);
      assertEquals(close.kind === "close" && close.code, 1011);
      await s.close(1011);
      s.abort();
    }
    await b.send("still fine");
    assertEquals(await within(b.message(), "an echo"), "still fine");
    await b.finish();
  } finally {
    console.error = error;
  }
  assertEquals(logged.length, 2);
  assert(String(logged[0][0]).includes("message handler threw"));
});

// ---------------------------------------------------------------- handshake

Deno.test("requests that cannot upgrade are refused by Rust: 426 plain GET, 426 wrong version, 400 bad key", async () => {
  const app = new App();
  let upgrades = 0;
  app.ws("/ws", {
    upgrade() {
      upgrades++;
      return undefined;
    },
  });
  await using t = serve(app);
  const port = t.server.addr.port;
  const plain = await fetch(`${t.base}/ws`);
  assertEquals(plain.status, 426);
  assertEquals(plain.headers.get("upgrade"), "websocket");
  await plain.body?.cancel();
  const version = await refused(port, "/ws", { headers: { "sec-websocket-version": "8" } });
  assertEquals(version.status, 426);
  assert(/^sec-websocket-version: *13/im.test(version.head), version.head);
  const badKey = await refused(port, "/ws", { headers: { "sec-websocket-key": "c2hvcnQ=" } });
  assertEquals(badKey.status, 400);
  const noKey = await refused(port, "/ws", { headers: { "sec-websocket-key": null } });
  assertEquals(noKey.status, 400);
  const stats = t.server.stats();
  assertEquals([upgrades, stats.toJs, stats.socketsOpened], [0, 0, 0]);
  // A good request still upgrades.
  const socket = await connect(port, "/ws");
  assertEquals(upgrades, 1);
  await socket.finish();
});

Deno.test("an upgrade refused by before-middleware gets its answer (401); so does upgrade() returning c.text(…, 403)", async () => {
  const app = new App();
  let opened = 0;
  app.before("/private/*", (c) => c.req.header("authorization") ? undefined : c.text("no", 401));
  app.ws("/private/feed", {
    open() {
      opened++;
    },
  });
  app.ws("/picky", {
    upgrade(c) {
      return c.query.get("pass") === "yes" ? undefined : c.text("no", 403);
    },
    open() {
      opened++;
    },
  });
  await using t = serve(app);
  const port = t.server.addr.port;
  const r401 = await refused(port, "/private/feed");
  assertEquals([r401.status, r401.body], [401, "no"]);
  const r403 = await refused(port, "/picky?pass=no");
  assertEquals([r403.status, r403.body], [403, "no"]);
  // Deno's WebSocket sees a failed handshake.
  const client = new Client(wsUrl(t.base, "/private/feed"));
  const failed = new Promise<string>((resolve) => {
    client.ws.onopen = () => resolve("opened");
    client.ws.onerror = () => resolve("error");
  });
  assertEquals(await within(failed, "the failed handshake"), "error");
  await within(client.closed, "the close");
  // The same routes accept what they should.
  const a = await connect(port, "/private/feed", { headers: { authorization: "Bearer x" } });
  const b = await connect(port, "/picky?pass=yes");
  assert(await until(() => opened === 2), "open() did not run for both");
  assertEquals(t.server.stats().socketsOpened, 2);
  await a.finish();
  await b.finish();
});

Deno.test("before-middleware's c.set() reaches ws.data through upgrade(), with params and remoteAddress", async () => {
  const app = new App<{ Variables: { user: string } }>();
  app.before((c) => {
    c.set("user", c.req.header("x-user") ?? "anonymous");
  });
  app.ws("/rooms/:room", {
    upgrade(c) {
      return { user: c.get("user"), token: c.query.get("token") };
    },
    open(ws) {
      ws.send(JSON.stringify({ data: ws.data, params: ws.params, from: ws.remoteAddress }));
    },
  });
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/rooms/lobby?token=t1", {
    headers: { "x-user": "ann" },
  });
  const hello = JSON.parse(await within(socket.message(), "the greeting") as string);
  assertEquals(hello.data, { user: "ann", token: "t1" });
  assertEquals(hello.params, { room: "lobby" });
  assert(/^127\.0\.0\.1:\d+$/.test(hello.from), hello.from);
  await socket.finish();
});

Deno.test("maxSockets: 2 answers a third upgrade 503, and a closed socket makes room", async () => {
  const { app } = echoApp();
  await using t = serve(app, { maxSockets: 2 });
  const port = t.server.addr.port;
  const a = await connect(port, "/echo");
  const b = await connect(port, "/echo");
  const third = await refused(port, "/echo");
  assertEquals(third.status, 503);
  await a.finish();
  assert(await until(() => t.server.stats().socketsOpen === 1));
  // The index comes back a moment after the count drops: a few tries.
  let c: RawSocket | undefined;
  for (let i = 0; i < 50 && c === undefined; i++) {
    const out = await handshake(port, "/echo");
    if (out instanceof RawSocket) c = out;
    else {
      assertEquals(out.status, 503);
      await sleep(20);
    }
  }
  assert(c !== undefined, "no room after a socket closed");
  await c.send("room");
  assertEquals(await within(c.message(), "an echo"), "room");
  for (const s of [b, c]) await s.finish();
});

// ---------------------------------------------------------------- lifetime

Deno.test("an abrupt disconnect runs close() with 1006 and frees the socket and its topics", async () => {
  const app = new App();
  const closes: number[] = [];
  app.ws("/rooms/:room", {
    open(ws) {
      ws.subscribe(`room:${ws.params.room}`);
    },
    close(_ws, code) {
      closes.push(code);
    },
  });
  await using t = serve(app);
  const port = t.server.addr.port;
  const gone = await connect(port, "/rooms/a");
  assert(await until(() => t.server.subscriberCount("room:a") === 1), "never subscribed");
  gone.abort();
  assert(await until(() => closes.length === 1), "close() never ran");
  assertEquals(closes, [1006]);
  assert(await until(() => t.server.stats().socketsOpen === 0), "the socket was never freed");
  assertEquals(t.server.subscriberCount("room:a"), 0);
  assertEquals(t.server.publish("room:a", "anyone?"), 0);
  // Rust forgot the subscription too: a new subscriber is the only one reached.
  const next = await connect(port, "/rooms/a");
  assert(await until(() => t.server.subscriberCount("room:a") === 1));
  const out = t.server.stats().wsMessagesOut;
  assert(t.server.publish("room:a", "hello") > 0);
  assertEquals(await within(next.message(), "the publish"), "hello");
  assertEquals(t.server.stats().wsMessagesOut - out, 1);
  await next.finish();
});

Deno.test("shutdown() closes open sockets with 1001", async () => {
  const { app, closes } = echoApp();
  const server = app.listen({ hostname: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const clients = await Promise.all([0, 1, 2].map(() => Client.open(wsUrl(base, "/echo"))));
  clients[0].ws.send("before");
  assertEquals(await clients[0].next(), "before");
  await within(server.shutdown({ deadlineMs: 100 }), "the shutdown");
  const events = await Promise.all(clients.map((c) => within(c.closed, "a close")));
  assertEquals(events.map((e) => e.code), [1001, 1001, 1001]);
  assertEquals(closes.length, 3);
});

// ---------------------------------------------------------------- many sockets

for (const engine of ENGINES) {
  Deno.test(`1,000 sockets each echo 5 messages sent back to back, at most 0.1 FFI calls per message (${engine})`, async () => {
    const { app } = echoApp();
    await using t = serve(app, { engine });
    const port = t.server.addr.port;
    const sockets = await pooled(
      Array.from({ length: 1000 }, (_, i) => i),
      50,
      () => connect(port, "/echo", { readBytes: 4096 }),
    );
    assert(await until(() => t.server.stats().socketsOpen === 1000));
    const round = async (tag: string) => {
      await Promise.all(sockets.map(async (socket, i) => {
        const frames = Array.from({ length: 5 }, (_, k) => encodeFrame(Op.TEXT, `${tag}${i}.${k}`));
        await socket.write(concat(frames));
        for (let k = 0; k < 5; k++) {
          const got = await within(socket.message(), `echo ${i}.${k}`);
          assertEquals(got, `${tag}${i}.${k}`);
        }
      }));
    };
    await round("warm"); // the first messages of each socket
    const before = t.server.stats();
    for (let r = 0; r < 3; r++) await round(`r${r}:`);
    const after = t.server.stats();
    const messages = after.wsMessagesIn - before.wsMessagesIn;
    const calls = after.ffiCalls.total - before.ffiCalls.total;
    assertEquals(messages, 15_000);
    assertEquals(after.wsMessagesOut - before.wsMessagesOut, 15_000);
    assert(calls / messages <= 0.1, `${calls} FFI calls for ${messages} messages`);
    // The server's own figure, over its whole life (handshakes included).
    assert(after.ffiCallsPerMessage <= 0.1, `ffiCallsPerMessage: ${after.ffiCallsPerMessage}`);
    await Promise.all(sockets.map((s) => s.finish()));
    assert(await until(() => t.server.stats().socketsOpen === 0));
  });

  Deno.test(`server.publish() reaches 1,000 subscribers, in order (${engine})`, async () => {
    const app = new App();
    app.ws("/news", {
      open(ws) {
        ws.subscribe("news");
      },
    });
    await using t = serve(app, { engine });
    const port = t.server.addr.port;
    const sockets = await pooled(
      Array.from({ length: 1000 }, (_, i) => i),
      50,
      () => connect(port, "/news", { readBytes: 16 * 1024 }),
    );
    assert(await until(() => t.server.subscriberCount("news") === 1000), "not all subscribed");
    const publishes = t.server.stats().wsPublishes;
    // Two turns: 50 publishes share one commit, then 50 more.
    for (let i = 0; i < 50; i++) assert(t.server.publish("news", `seq ${i}`) > 0);
    await sleep(0);
    for (let i = 50; i < 100; i++) t.server.publish("news", encoder.encode(`seq ${i}`));
    const bad: string[] = [];
    await Promise.all(sockets.map(async (socket, s) => {
      for (let i = 0; i < 100; i++) {
        const got = await within(socket.message(), `message ${i} of socket ${s}`);
        const text = typeof got === "string" ? got : `binary ${new TextDecoder().decode(got)}`;
        const want = i < 50 ? `seq ${i}` : `binary seq ${i}`;
        if (text !== want) bad.push(`socket ${s}: ${text}, expected ${want}`);
      }
    }));
    assertEquals(bad.slice(0, 5), []);
    assertEquals(t.server.stats().wsPublishes - publishes, 100);
    await Promise.all(sockets.map((s) => s.finish()));
  });

  Deno.test(`ws.publish() reaches every subscriber but the sender, in order (${engine})`, async () => {
    const app = new App();
    const reached: number[] = [];
    app.ws("/chat", {
      open(ws) {
        ws.subscribe("chat");
      },
      message(ws, message) {
        if (message !== "go") return;
        for (let i = 0; i < 100; i++) reached.push(ws.publish("chat", `p${i}`));
        ws.send("done");
      },
    });
    await using t = serve(app, { engine });
    const port = t.server.addr.port;
    const sockets = await pooled(
      Array.from({ length: 1000 }, (_, i) => i),
      50,
      () => connect(port, "/chat", { readBytes: 16 * 1024 }),
    );
    assert(await until(() => t.server.subscriberCount("chat") === 1000), "not all subscribed");
    const [sender, ...others] = sockets;
    await sender.send("go");
    // The sender hears none of its publishes: its reply comes first.
    assertEquals(await within(sender.message(), "the reply"), "done");
    const bad: string[] = [];
    await Promise.all(others.map(async (socket, s) => {
      for (let i = 0; i < 100; i++) {
        const got = await within(socket.message(), `message ${i} of socket ${s}`);
        if (got !== `p${i}`) bad.push(`socket ${s}: ${got}, expected p${i}`);
      }
    }));
    assertEquals(bad.slice(0, 5), []);
    assertEquals(reached.length, 100);
    // publish() returns the message's bytes.
    assertEquals(reached, reached.map((_, i) => `p${i}`.length));
    // Nothing else waits for the sender.
    await sender.send("ping?");
    await sender.frame(Op.PING, "last");
    assertEquals(await nextControl(sender), { kind: "pong", bytes: encoder.encode("last") });
    await Promise.all(sockets.map((s) => s.finish()));
  });
}

Deno.test("one publish to 10,000 subscribers is one crossing", async () => {
  const app = new App();
  app.ws("/crowd", {
    open(ws) {
      ws.subscribe("all");
    },
  });
  await using t = serve(app);
  const port = t.server.addr.port;
  const crowd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_ws_crowd.ts", import.meta.url).pathname,
      `${port}`,
      "/crowd",
      "10000",
      "to everyone",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = crowd.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const line = async (what: string) => {
    for (let i = 0; i < 1000 && !text.includes("\n"); i++) {
      const { value, done } = await within(lines.read(), what, 60_000);
      if (done) break;
      text += value;
    }
    const [first, ...rest] = text.split("\n");
    text = rest.join("\n");
    return first;
  };
  try {
    assertEquals(await line("the crowd to connect"), "open 10000");
    assert(
      await until(() => t.server.subscriberCount("all") === 10_000, 1000),
      "not all subscribed",
    );
    assertEquals(t.server.stats().socketsOpen, 10_000);
    // Wait for the loop to park afresh (its wait count moves), so that
    // nothing but the publish crosses in the next moment.
    const waits = t.server.stats().ffiCalls.wait;
    assert(await until(() => t.server.stats().ffiCalls.wait !== waits, 300), "never parked");
    const before = t.server.stats();
    assert(t.server.publish("all", "to everyone") > 0);
    await sleep(0);
    await sleep(0);
    const after = t.server.stats();
    assertEquals(after.ffiCalls.total - before.ffiCalls.total, 1);
    assertEquals(after.ffiCalls.commit - before.ffiCalls.commit, 1);
    assertEquals(after.wsPublishes - before.wsPublishes, 1);
    assertEquals(after.wsMessagesOut - before.wsMessagesOut, 10_000);
    assertEquals(await line("the crowd's messages"), "got 10000");
  } finally {
    await lines.cancel().catch(() => {});
    const status = await crowd.status;
    assert(status.success, `the crowd exited with ${status.code}`);
  }
  assert(await until(() => t.server.stats().socketsOpen === 0, 1000), "sockets left open");
});

// ---------------------------------------------------------------- backpressure

/**
 * A route that, on "flood", sends 64 KiB messages one per macrotask turn
 * to a client that does not read, until `stop` says so.
 */
function floodApp(
  options: { backpressureLimitBytes?: number; onBackpressure?: "close" | "drop" },
  stop: (result: number, results: number[], buffered: number) => boolean,
) {
  const app = new App();
  const results: number[] = [];
  const state = { maxBuffered: 0, drains: 0, closes: [] as number[], done: false };
  app.ws("/flood", {
    async message(ws, message) {
      if (message !== "flood") {
        ws.send(message);
        return;
      }
      const chunk = new Uint8Array(64 * 1024);
      for (let i = 0; i < 5000; i++) {
        const result = ws.send(chunk);
        results.push(result);
        const buffered = ws.bufferedAmount;
        state.maxBuffered = Math.max(state.maxBuffered, buffered);
        if (stop(result, results, buffered)) break;
        await sleep(0);
      }
      state.done = true;
    },
    drain(ws) {
      state.drains++;
      if (state.done) ws.send("drained");
    },
    close(_ws, code) {
      state.closes.push(code);
    },
  }, options);
  return { app, results, state };
}

/** Reads frames until `until` matches one; counts the binary messages. */
async function readUntil(
  socket: RawSocket,
  until: (got: Awaited<ReturnType<RawSocket["next"]>>) => boolean,
) {
  let binary = 0;
  for (let i = 0; i < 100_000; i++) {
    const got = await within(socket.next(), "a frame");
    if (got.kind === "binary") binary++;
    if (until(got) || got.kind === "end") return { binary, last: got };
  }
  throw new Error("readUntil: gave up");
}

Deno.test("a client that never reads: send() returns -1, then 0, and the socket closes with 1008", async () => {
  const limit = 1024 * 1024;
  const { app, results, state } = floodApp({}, (result) => result === 0);
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/flood");
  await socket.send("flood");
  assert(await until(() => state.done, 3000), `the flood never ended: ${results.length} sends`);
  const first = results.indexOf(-1);
  assert(first >= 0, "send() never returned -1");
  assertEquals(results.at(-1), 0);
  assert(results.slice(0, first).every((r) => r === 64 * 1024));
  // The socket's queue stayed bounded by the limit.
  assert(state.maxBuffered <= limit + 64 * 1024, `bufferedAmount reached ${state.maxBuffered}`);
  assert(t.server.stats().wsDropped >= 1);
  // The client reads at last: what was queued past the limit never comes,
  // and the close frame does.
  const { binary, last } = await readUntil(socket, (got) => got.kind === "close");
  assertEquals(last.kind === "close" && last.code, 1008);
  assert(binary <= results.filter((r) => r !== 0).length, `${binary} messages arrived`);
  await socket.close(1008);
  socket.abort();
  assert(await until(() => state.closes.length === 1), "close() never ran");
  assertEquals(state.closes, [1008]);
});

Deno.test('onBackpressure: "drop" drops messages past the limit and keeps the socket open', async () => {
  const { app, results, state } = floodApp(
    { onBackpressure: "drop" },
    (_, all) => all.filter((r) => r === 0).length >= 20,
  );
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/flood");
  const dropped = t.server.stats().wsDropped;
  await socket.send("flood");
  assert(await until(() => state.done, 3000), `the flood never ended: ${results.length} sends`);
  assert(results.includes(-1), "send() never returned -1");
  assertEquals(results.filter((r) => r === 0).length, 20);
  assert(
    state.maxBuffered <= 1024 * 1024 + 64 * 1024,
    `bufferedAmount reached ${state.maxBuffered}`,
  );
  // The client catches up; the socket is still open and echoes.
  await socket.send("still open?");
  const { binary, last } = await readUntil(
    socket,
    (got) => got.kind === "text" && got.text === "still open?",
  );
  assertEquals(last, { kind: "text", text: "still open?" });
  assertEquals(binary, results.filter((r) => r !== 0).length);
  assertEquals(state.closes, []);
  assertEquals(t.server.stats().socketsOpen, 1);
  // The 20 refused sends count as dropped.
  assert(t.server.stats().wsDropped - dropped >= 20, `wsDropped: ${t.server.stats().wsDropped}`);
  await socket.finish();
});

Deno.test("drain() fires once a slow client has taken what was queued", async () => {
  const { app, results, state } = floodApp(
    { backpressureLimitBytes: 256 * 1024 * 1024 },
    // 4 MiB waiting in Rust: the kernel's buffers are full, nothing drains
    // until the client reads.
    (result, _, buffered) => result === -1 && buffered > 4 * 1024 * 1024,
  );
  await using t = serve(app);
  const socket = await connect(t.server.addr.port, "/flood");
  await socket.send("flood");
  assert(await until(() => state.done, 3000), `the flood never ended: ${results.length} sends`);
  assertEquals(results.at(-1), -1);
  const drains = state.drains;
  await sleep(200);
  assertEquals(state.drains, drains, "drain() fired while the client was not reading");
  const { binary, last } = await readUntil(
    socket,
    (got) => got.kind === "text" && got.text === "drained",
  );
  assertEquals(last, { kind: "text", text: "drained" });
  // Every message came, then the drain.
  assertEquals(binary, results.length);
  assertEquals(state.drains, drains + 1);
  await socket.finish();
});

Deno.test("publishes to a subscriber that never reads close it with 1008; the other subscribers get them all", async () => {
  const app = new App();
  const closes: number[] = [];
  app.ws("/firehose", {
    open(ws) {
      ws.subscribe("firehose");
    },
    close(_ws, code) {
      closes.push(code);
    },
  });
  await using t = serve(app);
  const port = t.server.addr.port;
  const slow = await connect(port, "/firehose");
  const fast = await connect(port, "/firehose");
  assert(await until(() => t.server.subscriberCount("firehose") === 2));
  let reading = true;
  let got = 0;
  const reader = (async () => {
    for (let i = 0; i < 100_000 && reading; i++) {
      const message = await within(fast.message(), "a publish");
      if (message === "end") return;
      if (message.length === 64 * 1024) got++;
    }
  })();
  const dropped = t.server.stats().wsDropped;
  const chunk = new Uint8Array(64 * 1024);
  let published = 0;
  for (let i = 0; i < 5000 && t.server.stats().wsDropped === dropped; i++) {
    t.server.publish("firehose", chunk);
    published++;
    await sleep(0);
  }
  assert(t.server.stats().wsDropped > dropped, `nothing was dropped after ${published} publishes`);
  // The slow one reads at last: part of what was queued never comes.
  const { binary, last } = await readUntil(slow, (got) => got.kind === "close");
  assertEquals(last.kind === "close" && last.code, 1008);
  assert(binary < published, `all ${published} arrived`);
  await slow.close(1008);
  slow.abort();
  assert(await until(() => closes.length === 1), "close() never ran");
  assertEquals(closes, [1008]);
  // The fast one got every publish.
  t.server.publish("firehose", "end");
  await within(reader, "the fast reader");
  reading = false;
  assertEquals(got, published);
  await fast.finish();
});

// ---------------------------------------------------------------- plain HTTP alongside

Deno.test("HTTP/1.1 keep-alive requests are served on another connection while sockets are busy", async () => {
  const { app } = echoApp();
  app.get("/plain", (c) => `plain ${c.query.get("i")}`);
  await using t = serve(app);
  const port = t.server.addr.port;
  const sockets = await Promise.all(Array.from({ length: 20 }, () => connect(port, "/echo")));
  let busy = true;
  let echoes = 0;
  const chatter = Promise.all(sockets.map(async (socket, s) => {
    for (let i = 0; i < 10_000 && busy; i++) {
      await socket.send(`s${s} m${i}`);
      assertEquals(await within(socket.message(), "an echo"), `s${s} m${i}`);
      echoes++;
    }
  }));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const inMessages = t.server.stats().wsMessagesIn;
  try {
    const buf = new Uint8Array(4096);
    for (let i = 0; i < 30; i++) {
      await conn.write(encoder.encode(`GET /plain?i=${i} HTTP/1.1\r\nhost: x\r\n\r\n`));
      let text = "";
      for (let k = 0; k < 100; k++) {
        const n = await within(conn.read(buf), `answer ${i}`);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
        const length = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? -1);
        const head = text.indexOf("\r\n\r\n");
        if (head >= 0 && length >= 0 && text.length >= head + 4 + length) break;
      }
      assert(text.startsWith("HTTP/1.1 200"), text);
      assert(text.endsWith(`plain ${i}`), text);
    }
  } finally {
    conn.close();
  }
  // The sockets were echoing all along.
  assert(t.server.stats().wsMessagesIn - inMessages > 30, "the sockets were idle");
  busy = false;
  await chatter;
  assert(echoes > 0);
  await Promise.all(sockets.map((s) => s.finish()));
  // And a one-off request on a fresh connection.
  assert(
    (await rawExchange(port, "GET /plain?i=z HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"))
      .endsWith("plain z"),
  );
});

Deno.test("native middleware applies to the upgrade: cors() origins, rateLimit(), requestId()", async () => {
  const app = new App();
  app.use(cors({ origin: ["https://app.example"] }));
  app.use(rateLimit({ capacity: 3, refillPerSecond: 0.001 }));
  app.use(requestId());
  let opened = 0;
  const ids: (string | undefined)[] = [];
  app.ws("/ws", {
    upgrade(c) {
      ids.push(c.req.header("x-request-id"));
    },
    open() {
      opened++;
    },
  });
  await using t = serve(app);
  const port = t.server.addr.port;
  // A browser on another site: refused before JavaScript runs.
  assertEquals(ids.length, 0);
  const foreign = await refused(port, "/ws", { headers: { origin: "https://evil.example" } });
  assertEquals(foreign.status, 403);
  // The allowed origin and a non-browser client (no Origin) get sockets;
  // the upgrade request got its request id.
  const ok = await handshake(port, "/ws", { headers: { origin: "https://app.example" } });
  assert(ok instanceof RawSocket);
  const bare = await connect(port, "/ws");
  // The rate limit counts upgrades like any request: the fourth is 429.
  const limited = await refused(port, "/ws");
  assertEquals(limited.status, 429);
  await until(() => opened === 2);
  assertEquals(t.server.stats().toJs, 2);
  assertEquals(ids.length, 2);
  assert(ids.every((id) => typeof id === "string" && id.length > 0), String(ids));
  ok.abort();
  bare.abort();
  await until(() => t.server.stats().socketsOpen === 0);
});

Deno.test("HTTP/2: extended CONNECT (RFC 8441) opens sockets, two on one connection", async () => {
  const { default: http2 } = await import("node:http2");
  const app = new App();
  let opened = 0;
  app.ws("/ws/:name", {
    open() {
      opened++;
    },
    message(ws, message) {
      ws.send(`${ws.params.name}:${message}`);
    },
  });
  await using t = serve(app);
  const session = http2.connect(t.base);
  try {
    const settings = await new Promise<{ enableConnectProtocol?: boolean }>((resolve) =>
      session.once("remoteSettings", resolve)
    );
    assertEquals(settings.enableConnectProtocol, true);
    const open = (path: string, version = "13") =>
      session.request({
        ":method": "CONNECT",
        ":protocol": "websocket",
        ":path": path,
        ":scheme": "http",
        ":authority": t.base.slice(7),
        "sec-websocket-version": version,
      });
    const status = (stream: ReturnType<typeof open>) =>
      new Promise<number>((resolve) =>
        stream.once("response", (h: Record<string, unknown>) => resolve(Number(h[":status"])))
      );
    const a = open("/ws/a");
    const b = open("/ws/b");
    const old = open("/ws/c", "8");
    assertEquals(await Promise.all([status(a), status(b), status(old)]), [200, 200, 426]);
    old.close();
    // Client frames are masked (encodeFrame does it); server frames are not.
    const echo = (stream: ReturnType<typeof open>, text: string) => {
      stream.write(encodeFrame(Op.TEXT, text));
      return new Promise<string>((resolve) =>
        stream.once("data", (d: Uint8Array) => resolve(new TextDecoder().decode(d.subarray(2))))
      );
    };
    assertEquals(await echo(a, "one"), "a:one");
    assertEquals(await echo(b, "two"), "b:two");
    assertEquals(opened, 2);
    a.close();
    b.close();
    await until(() => t.server.stats().socketsOpen === 0);
  } finally {
    session.close();
  }
});

Deno.test("Deno.upgradeWebSocket() in a handler fails with a message naming app.ws()", async () => {
  const errors: string[] = [];
  const app = new App().onError((err, c) => {
    errors.push(String(err));
    return c.text("no", 500);
  });
  app.get("/legacy", (c) => Deno.upgradeWebSocket(c.req.raw).response);
  await using t = serve(app);
  const out = await refused(t.server.addr.port, "/legacy");
  assertEquals(out.status, 500);
  assertEquals(errors.length, 1);
  assert(errors[0].includes("app.ws(path"), errors[0]);
});
