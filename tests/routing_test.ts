// Routing over the network (Rust matchit router): params, wildcards, 404,
// 405 with Allow, HEAD, OPTIONS, app.all and strict trailing slashes.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { App } from "../mod.ts";
import { rawExchange, serve } from "./_helpers.ts";

function routes(): App {
  const app = new App();
  app.get("/", () => "root");
  app.get("/users/:id", (c) => ({ id: c.params.id }));
  app.delete("/users/:id", (c) => `deleted ${c.params.id}`);
  app.get("/users/:id/posts/:post", (c) => c.params);
  app.get("/users/me", () => "me");
  app.get("/files/*path", (c) => c.params.path);
  app.all("/any", (c) => `any ${c.req.method}`);
  app.get("/slash/", () => "with slash");
  app.get("/noslash", () => "without slash");
  app.get("/head", (c) => {
    c.header("x-route", "get");
    return "body of get";
  });
  app.options("/custom-options", () => new Response(null, { status: 200 }));
  return app;
}

Deno.test("listen() routing percent-decodes params", async () => {
  await using t = serve(routes());
  const res = await fetch(`${t.base}/users/a%20b%2Fc%C3%A9`);
  assertEquals(res.status, 200);
  assertEquals(await res.json(), { id: "a b/cé" });
  const two = await fetch(`${t.base}/users/1/posts/x%3Fy`);
  assertEquals(await two.json(), { id: "1", post: "x?y" });
});

Deno.test("listen() routing prefers static segments over params", async () => {
  await using t = serve(routes());
  assertEquals(await (await fetch(`${t.base}/users/me`)).text(), "me");
  assertEquals(await (await fetch(`${t.base}/users/mex`)).json(), { id: "mex" });
});

Deno.test("listen() routing gives wildcards the rest of the path, decoded", async () => {
  await using t = serve(routes());
  assertEquals(await (await fetch(`${t.base}/files/a/b/c.txt`)).text(), "a/b/c.txt");
  assertEquals(await (await fetch(`${t.base}/files/a%20b/c`)).text(), "a b/c");
  // The rest may be empty (issue #15); without the slash it is another path.
  assertEquals(await (await fetch(`${t.base}/files/`)).text(), "");
  const bare = await fetch(`${t.base}/files`);
  assertEquals(bare.status, 404);
  await bare.body?.cancel();
});

Deno.test("listen() answers 404 problem+json when no route matches", async () => {
  await using t = serve(routes());
  const res = await fetch(`${t.base}/nowhere`);
  assertEquals(res.status, 404);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assertEquals(body.status, 404);
  assertEquals(body.title, "Not Found");
  assertEquals(t.server.stats().toJs, 0);
});

Deno.test("listen() answers 405 with Allow for a known path", async () => {
  await using t = serve(routes());
  const res = await fetch(`${t.base}/users/1`, { method: "POST" });
  assertEquals(res.status, 405);
  assertEquals(res.headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  assertEquals((await res.json()).status, 405);
  const del = await fetch(`${t.base}/users/9`, { method: "DELETE" });
  assertEquals(await del.text(), "deleted 9");
});

Deno.test("listen() answers HEAD with the GET route's headers and no body", async () => {
  await using t = serve(routes());
  const res = await fetch(`${t.base}/head`, { method: "HEAD" });
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("x-route"), "get");
  assertEquals(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assertEquals(await res.text(), "");
  const raw = await rawExchange(
    t.server.addr.port,
    "HEAD /head HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
  );
  assertEquals(raw.startsWith("HTTP/1.1 200"), true, raw);
  assertEquals(raw.endsWith("\r\n\r\n"), true, `HEAD carried a body: ${JSON.stringify(raw)}`);
});

Deno.test("listen() answers OPTIONS with 204 and Allow unless a route handles it", async () => {
  await using t = serve(routes());
  const res = await fetch(`${t.base}/users/1`, { method: "OPTIONS" });
  assertEquals(res.status, 204);
  assertEquals(res.headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");
  assertEquals(await res.text(), "");
  const custom = await fetch(`${t.base}/custom-options`, { method: "OPTIONS" });
  assertEquals(custom.status, 200);
  await custom.body?.cancel();
  const missing = await fetch(`${t.base}/nowhere`, { method: "OPTIONS" });
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("app.all() answers every method", async () => {
  await using t = serve(routes());
  for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
    const res = await fetch(`${t.base}/any`, { method });
    assertEquals(res.status, 200, method);
    assertEquals(await res.text(), `any ${method}`);
  }
  const head = await fetch(`${t.base}/any`, { method: "HEAD" });
  assertEquals(head.status, 200);
  assertEquals(await head.text(), "");
});

Deno.test("listen() routing treats a trailing slash as a different path", async () => {
  await using t = serve(routes());
  const cases: [string, number][] = [
    ["/slash/", 200],
    ["/slash", 404],
    ["/noslash", 200],
    ["/noslash/", 404],
    ["/users/1/", 404],
  ];
  for (const [path, status] of cases) {
    const res = await fetch(`${t.base}${path}`);
    assertEquals(res.status, status, path);
    await res.body?.cancel();
  }
});

Deno.test("listen() refuses a param that is not valid UTF-8 with 400", async () => {
  await using t = serve(routes());
  const res = await fetch(`${t.base}/users/%FF`);
  assertEquals(res.status, 400);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  await res.body?.cancel();
});
