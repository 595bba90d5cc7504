// Issue #15, part 1: mistakes are loud, and app.fetch is bound.

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  throws as assertThrows,
} from "node:assert/strict";
import { App } from "../mod.ts";
import { serve } from "./_helpers.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return String((error as Error).message);
  }
  return "(no error)";
}

Deno.test("app.get() after listen() throws, and so do use/before/after/static/route", async () => {
  const app = new App().get("/", () => "hi");
  await using _t = serve(app);
  assertMatch(message(() => app.get("/late", () => "late")), /after listen\(\)/);
  assertMatch(message(() => app.before(() => {})), /app\.before\(\) was called after listen/);
  assertMatch(message(() => app.after(() => {})), /after listen/);
  assertMatch(message(() => app.use(async (_c, next) => void await next())), /after listen/);
  assertMatch(message(() => app.static("/s", ".")), /after listen/);
  assertMatch(message(() => app.route("/x", new App())), /after listen/);
});

Deno.test("a sub-app mounted in a served app refuses later routes too", async () => {
  const sub = new App().get("/a", () => "a");
  const app = new App().route("/sub", sub);
  await using _t = serve(app);
  assertMatch(message(() => sub.get("/b", () => "b")), /after listen/);
});

Deno.test("app.on() names both patterns of a conflict", () => {
  const app = new App().get("/users/:id", () => "x");
  const text = message(() => app.get("/users/:name", () => "y"));
  assertMatch(text, /"\/users\/:name" conflicts with GET "\/users\/:id"/);
});

Deno.test("a conflict between a mounted app and its parent names both at listen()", () => {
  const app = new App().get("/api/users/:id", () => "x");
  app.route("/api", new App().get("/users/:name", () => "y"));
  assertThrows(() => app.listen({ port: 0, hostname: "127.0.0.1" }), /\/api\/users\/:id/);
});

Deno.test("app.fetch is bound: Deno.serve(app.fetch) answers", async () => {
  const app = new App().get("/", () => "hi");
  const { fetch: handler } = app;
  assertEquals(await (await handler(new Request("http://x/"))).text(), "hi");
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    app.fetch,
  );
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
  assertEquals([res.status, await res.text()], [200, "hi"]);
  ac.abort();
  await server.finished;
});

Deno.test("a /*rest route matches / (rest is empty), over the network and app.fetch", async () => {
  const app = new App().get("/*rest", (c) => ({ rest: c.params.rest }));
  app.get("/files/*path", (c) => ({ path: c.params.path }));
  await using t = serve(app);
  for (
    const [path, want] of [["/", { rest: "" }], ["/files/", { path: "" }], ["/a/b", {
      rest: "a/b",
    }]] as const
  ) {
    assertEquals(await (await fetch(t.base + path)).json(), want, `network ${path}`);
    assertEquals(await (await app.request(path)).json(), want, `fetch ${path}`);
  }
});

Deno.test("an explicit route beats the empty-rest alias of a wildcard", async () => {
  const app = new App().get("/files/*path", () => "wild").get("/files/", () => "index");
  await using t = serve(app);
  assertEquals(await (await fetch(`${t.base}/files/`)).text(), "index");
  assertEquals(await (await app.request("/files/")).text(), "index");
});

Deno.test("app.request() takes a path, an init, a URL or a Request", async () => {
  const app = new App().post("/echo", async (c) => await c.req.text());
  app.get("/q", (c) => c.query.get("x"));
  assertEquals(await (await app.request("/echo", { method: "POST", body: "hi" })).text(), "hi");
  assertEquals(await (await app.request("/q?x=1")).text(), "1");
  assertEquals(await (await app.request(new URL("http://h/q?x=2"))).text(), "2");
  const req = new Request("http://h/echo", { method: "POST", body: "r" });
  assertEquals(await (await app.request(req)).text(), "r");
});
