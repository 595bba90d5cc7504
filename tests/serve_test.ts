// serve(): Deno.serve's signature on Ferry's native core, and a Hono app
// (npm:hono@4) with routing and middleware through it.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
// Inline on purpose: Hono is a test dependency, not one of Ferry's imports.
// deno-lint-ignore no-import-prefix
import { Hono } from "npm:hono@4";
import { serve, type ServeHandler } from "../mod.ts";

const quiet = { hostname: "127.0.0.1", port: 0, onListen() {} };

Deno.test("serve() takes a handler, (options, handler) and { ...options, handler }", async () => {
  const handler: ServeHandler = (req, info) =>
    Response.json({
      method: req.method,
      url: req.url,
      remote: info.remoteAddr.hostname,
    });
  const servers = [
    serve({ ...quiet, handler }),
    serve(quiet, handler),
  ];
  for (const server of servers) {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const res = await fetch(`${base}/a/b?c=1`, { method: "PUT", body: "x" });
    assertEquals(await res.json(), {
      method: "PUT",
      url: `${base}/a/b?c=1`,
      remote: "127.0.0.1",
    });
    const root = await fetch(`${base}/`);
    assertEquals((await root.json()).url, `${base}/`);
    // Through the native core: Rust handed both requests to JavaScript.
    assertEquals(server.stats().toJs, 2);
    await server.shutdown();
    await server.finished;
  }
});

Deno.test("serve(handler) listens on port 8000 by default, as Deno.serve", async () => {
  let busy = false;
  try {
    Deno.listen({ port: 8000 }).close();
  } catch {
    busy = true; // someone else's server: nothing to check here
  }
  if (busy) return;
  const log = console.log;
  const lines: string[] = [];
  console.log = (line: string) => lines.push(line);
  try {
    let server;
    try {
      server = serve(() => new Response("default"));
    } catch (error) {
      // Taken by another process since the probe: nothing to check here.
      if (String(error).includes("Address already in use")) return;
      throw error;
    }
    assertEquals(server.addr.port, 8000);
    assertEquals(await (await fetch("http://127.0.0.1:8000/")).text(), "default");
    await server.shutdown();
  } finally {
    console.log = log;
  }
  assertEquals(lines, ["Listening on http://0.0.0.0:8000/"]);
});

Deno.test("serve() shuts down when its signal aborts; the body and status pass through", async () => {
  const controller = new AbortController();
  const server = serve(
    { ...quiet, signal: controller.signal },
    async (req) =>
      new Response(`got ${await req.text()}`, { status: 201, headers: { "x-a": "1" } }),
  );
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, { method: "POST", body: "hi" });
  assertEquals(res.status, 201);
  assertEquals(res.headers.get("x-a"), "1");
  assertEquals(await res.text(), "got hi");
  controller.abort();
  await server.finished;
});

Deno.test("serve() runs a Hono app with routing and middleware on the native core", async () => {
  const app = new Hono();
  const order: string[] = [];
  app.use("*", async (c, next) => {
    order.push("outer in");
    await next();
    c.header("x-powered-by", "hono-on-ferry");
    order.push("outer out");
  });
  app.use("/admin/*", async (c, next) => {
    if (c.req.header("authorization") !== "yes") return c.text("no", 401);
    await next();
  });
  app.get("/", (c) => c.text("Hello, Hono"));
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") ?? null }));
  app.post("/echo", async (c) => c.json(await c.req.json(), 201));
  app.get("/admin/panel", (c) => c.text("secret"));
  app.notFound((c) => c.text("nothing here", 404));
  const server = serve(quiet, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const root = await fetch(`${base}/`);
    assertEquals(await root.text(), "Hello, Hono");
    assertEquals(root.headers.get("x-powered-by"), "hono-on-ferry");
    assertEquals(order, ["outer in", "outer out"]);
    const user = await fetch(`${base}/users/42?q=x`);
    assertEquals(await user.json(), { id: "42", q: "x" });
    const echo = await fetch(`${base}/echo`, { method: "POST", body: '{"n":[1,2]}' });
    assertEquals(echo.status, 201);
    assertEquals(await echo.json(), { n: [1, 2] });
    const denied = await fetch(`${base}/admin/panel`);
    assertEquals([denied.status, await denied.text()], [401, "no"]);
    const allowed = await fetch(`${base}/admin/panel`, { headers: { authorization: "yes" } });
    assertEquals(await allowed.text(), "secret");
    const missing = await fetch(`${base}/nope`);
    assertEquals([missing.status, await missing.text()], [404, "nothing here"]);
    // Every request crossed Ferry's Rust core into JavaScript.
    assert(server.stats().toJs >= 6, JSON.stringify(server.stats()));
  } finally {
    await server.shutdown();
  }
});
