// WebSockets end to end (issue #13), at scale: 1,000 sockets echoing with
// FFI calls per message counted, publish to 1,000 and 10,000 subscribers,
// backpressure (slow and stalled clients), HTTP served alongside.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { rawExchange, serve, until } from "./_helpers.ts";
import { connect, encodeFrame, Op, pooled } from "./_ws_client.ts";
import {
  concat,
  echoApp,
  encoder,
  ENGINES,
  floodApp,
  nextControl,
  readUntil,
  sleep,
  within,
} from "./_ws_helpers.ts";

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
