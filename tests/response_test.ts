// What a handler's return value becomes on the wire, and the c.* helpers.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { App, Reply } from "../mod.ts";
import { rawExchange, serve } from "./_helpers.ts";

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";
const BYTES = "application/octet-stream";

function returns(): App {
  const app = new App();
  app.get("/string", () => "plain ✓");
  app.get("/object", () => ({ a: 1, nested: { b: [true, null] } }));
  app.get("/array", () => [1, "two", { three: 3 }]);
  app.get("/uint8", () => new Uint8Array([1, 2, 3, 250]));
  app.get("/arraybuffer", () => new Uint8Array([4, 5]).buffer);
  app.get("/null", () => null);
  app.get("/undefined", () => {});
  app.get("/async-string", async () => {
    await Promise.resolve();
    return "later";
  });
  app.get("/to-json", () => new Date(0) as unknown as Record<string, unknown>);
  app.get("/response", () => {
    const headers = new Headers({ "content-type": "text/csv", "x-web": "1" });
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; HttpOnly");
    return new Response("x,y\n1,2\n", { status: 202, headers });
  });
  app.get("/response-empty", () => new Response(null, { status: 201 }));
  return app;
}

Deno.test("handler return values map to content types", async () => {
  await using t = serve(returns());
  const cases: [string, number, string | null, string][] = [
    ["/string", 200, TEXT, "plain ✓"],
    ["/object", 200, JSON_TYPE, '{"a":1,"nested":{"b":[true,null]}}'],
    ["/array", 200, JSON_TYPE, '[1,"two",{"three":3}]'],
    ["/async-string", 200, TEXT, "later"],
    ["/to-json", 200, JSON_TYPE, '"1970-01-01T00:00:00.000Z"'],
    ["/null", 204, null, ""],
    ["/undefined", 204, null, ""],
  ];
  for (const [path, status, type, body] of cases) {
    const res = await fetch(`${t.base}${path}`);
    assertEquals(res.status, status, path);
    assertEquals(res.headers.get("content-type"), type, path);
    assertEquals(await res.text(), body, path);
  }
});

Deno.test("handler returning bytes sends application/octet-stream", async () => {
  await using t = serve(returns());
  const u8 = await fetch(`${t.base}/uint8`);
  assertEquals(u8.headers.get("content-type"), BYTES);
  assertEquals(new Uint8Array(await u8.arrayBuffer()), new Uint8Array([1, 2, 3, 250]));
  const ab = await fetch(`${t.base}/arraybuffer`);
  assertEquals(ab.headers.get("content-type"), BYTES);
  assertEquals(new Uint8Array(await ab.arrayBuffer()), new Uint8Array([4, 5]));
});

Deno.test("handler returning a Response sends it as is, set-cookie included", async () => {
  await using t = serve(returns());
  const res = await fetch(`${t.base}/response`);
  assertEquals(res.status, 202);
  assertEquals(res.headers.get("content-type"), "text/csv");
  assertEquals(res.headers.get("x-web"), "1");
  assertEquals(res.headers.getSetCookie(), ["a=1; Path=/", "b=2; HttpOnly"]);
  assertEquals(await res.text(), "x,y\n1,2\n");
  const empty = await fetch(`${t.base}/response-empty`);
  assertEquals(empty.status, 201);
  assertEquals(await empty.text(), "");
});

Deno.test("a 204 answer carries no body and no content-length", async () => {
  await using t = serve(returns());
  const raw = await rawExchange(
    t.server.addr.port,
    "GET /null HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
  );
  assertEquals(raw.startsWith("HTTP/1.1 204"), true, raw);
  assertEquals(/content-length/i.test(raw), false, raw);
  assertEquals(raw.endsWith("\r\n\r\n"), true, raw);
});

Deno.test("c.json(), c.text(), c.html() and c.body() set type and status", async () => {
  const app = new App();
  app.get("/json", (c) => c.json({ ok: true }, 201));
  app.get("/json-undefined", (c) => c.json(undefined));
  app.get("/text", (c) => c.text("hi", 202));
  app.get("/html", (c) => c.html("<p>hi</p>"));
  app.get("/body-bytes", (c) => c.body(new Uint8Array([7])));
  app.get("/body-buffer", (c) => c.body(new Uint8Array([8, 9]).buffer, 200, "image/png"));
  app.get("/body-string", (c) => c.body("raw", 200, "text/x-raw"));
  app.get("/body-null", (c) => c.body(null, 204));
  await using t = serve(app);
  const cases: [string, number, string | null, string][] = [
    ["/json", 201, JSON_TYPE, '{"ok":true}'],
    ["/json-undefined", 200, JSON_TYPE, "null"],
    ["/text", 202, TEXT, "hi"],
    ["/html", 200, "text/html; charset=utf-8", "<p>hi</p>"],
    ["/body-bytes", 200, BYTES, "\x07"],
    ["/body-buffer", 200, "image/png", "\x08\x09"],
    ["/body-string", 200, "text/x-raw", "raw"],
    ["/body-null", 204, null, ""],
  ];
  for (const [path, status, type, body] of cases) {
    const res = await fetch(`${t.base}${path}`);
    assertEquals(res.status, status, path);
    assertEquals(res.headers.get("content-type"), type, path);
    assertEquals(await res.text(), body, path);
  }
});

Deno.test("c.redirect() answers 302 (or the given status) with Location", async () => {
  const app = new App();
  app.get("/old", (c) => c.redirect("/new"));
  app.get("/moved", (c) => c.redirect("https://example.com/x?y=1", 301));
  await using t = serve(app);
  const res = await fetch(`${t.base}/old`, { redirect: "manual" });
  assertEquals(res.status, 302);
  assertEquals(res.headers.get("location"), "/new");
  await res.body?.cancel();
  const moved = await fetch(`${t.base}/moved`, { redirect: "manual" });
  assertEquals(moved.status, 301);
  assertEquals(moved.headers.get("location"), "https://example.com/x?y=1");
  await moved.body?.cancel();
});

Deno.test("c.status() and c.header() apply to every kind of return value", async () => {
  const app = new App();
  app.get("/string", (c) => c.status(201).header("X-A", "1").header("x-a", "2") && "made");
  app.get("/object", (c) => {
    c.status(418).header("x-b", "b");
    return { teapot: true };
  });
  app.get("/none", (c) => {
    c.status(202).header("x-c", "c");
  });
  app.get("/helper", (c) => {
    c.status(203).header("x-d", "d");
    return c.text("from helper");
  });
  app.get("/response", (c) => {
    c.header("x-e", "e");
    return new Response("web", { status: 200 });
  });
  app.get("/reply", (c) => {
    c.header("content-type", "text/x-custom");
    return new Reply("custom", 200, TEXT);
  });
  await using t = serve(app);
  const cases: [string, number, string, string | null, string][] = [
    ["/string", 201, "x-a", "2", "made"],
    ["/object", 418, "x-b", "b", '{"teapot":true}'],
    ["/none", 202, "x-c", "c", ""],
    ["/helper", 203, "x-d", "d", "from helper"],
    ["/response", 200, "x-e", "e", "web"],
  ];
  for (const [path, status, header, value, body] of cases) {
    const res = await fetch(`${t.base}${path}`);
    assertEquals(res.status, status, path);
    assertEquals(res.headers.get(header), value, path);
    assertEquals(await res.text(), body, path);
  }
  const reply = await fetch(`${t.base}/reply`);
  assertEquals(reply.headers.get("content-type"), "text/x-custom");
  assertEquals(await reply.text(), "custom");
});

Deno.test("listen() sends a 1 MB response body exactly", async () => {
  const big = new Uint8Array(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 10)) & 0xff;
  const text = "0123456789abcdef".repeat(65536);
  const app = new App();
  app.get("/bytes", () => big);
  app.get("/text", () => text);
  app.get("/json", () => ({ text }));
  await using t = serve(app);
  const bytes = new Uint8Array(await (await fetch(`${t.base}/bytes`)).arrayBuffer());
  assertEquals(bytes.length, big.length);
  let same = true;
  for (let i = 0; i < big.length; i++) if (bytes[i] !== big[i]) same = false;
  assertEquals(same, true);
  const gotText = await (await fetch(`${t.base}/text`)).text();
  assertEquals(gotText.length, text.length);
  assertEquals(gotText === text, true);
  assertEquals((await (await fetch(`${t.base}/json`)).json()).text === text, true);
  const stats = t.server.stats();
  assertEquals(stats.ffiCalls.setBody, 3);
  assertEquals(stats.slotsInUse, 0);
});

Deno.test("listen() sends a non-ASCII text body that only fits as UTF-16", async () => {
  // 3000 chars fit the slot's room as UTF-16 count but not as UTF-8 bytes.
  const text = "✓".repeat(3000);
  const app = new App();
  app.get("/", () => text);
  await using t = serve(app);
  assertEquals(await (await fetch(`${t.base}/`)).text(), text);
});
