// WebSockets end to end (issue #13), messages: echo, fragments, large
// messages, ping/pong and idle, close codes, invalid input. A real server on
// 127.0.0.1:0 and real clients — Deno's WebSocket where a browser's view is
// enough, the raw client of _ws_client.ts where a test needs frames a
// browser never sends. Latches and bounded waits stand in for timing.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { serve, until } from "./_helpers.ts";
import { connect, encodeFrame, Op } from "./_ws_client.ts";
import {
  bytes,
  Client,
  concat,
  echoApp,
  ENGINES,
  nextControl,
  sameBytes,
  within,
  wsUrl,
} from "./_ws_helpers.ts";

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
