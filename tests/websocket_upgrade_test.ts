// WebSockets end to end (issue #13), the handshake and the socket's life:
// refusals by Rust and by middleware, data from upgrade(), maxSockets,
// disconnects, shutdown, native middleware, HTTP/2 (RFC 8441).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App, cors, rateLimit, requestId } from "../mod.ts";
import { serve, until } from "./_helpers.ts";
import { connect, encodeFrame, handshake, Op, RawSocket, refused } from "./_ws_client.ts";
import { Client, echoApp, sleep, within, wsUrl } from "./_ws_helpers.ts";

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
