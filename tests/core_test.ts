import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { App, HttpError } from "../mod.ts";
import { serve } from "./_helpers.ts";

function showcase(): App {
  const app = new App();
  app.get("/", () => "Hello, World!");
  app.get("/users/:id", (c) => ({ id: c.params.id, q: c.query.get("q") }));
  app.post("/echo", async (c) => c.json(await c.req.json(), 201));
  app.get("/files/*path", (c) => c.text(c.params.path));
  app.get("/http-error", () => {
    throw new HttpError(409, "taken");
  });
  return app;
}

Deno.test("listen() serves text, JSON, params and wildcards over hyper", async () => {
  await using t = serve(showcase());
  const text = await fetch(`${t.base}/`);
  assertEquals(text.headers.get("content-type"), "text/plain; charset=utf-8");
  assertEquals(await text.text(), "Hello, World!");
  const user = await fetch(`${t.base}/users/a%20b?q=x`);
  assertEquals(await user.json(), { id: "a b", q: "x" });
  const echo = await fetch(`${t.base}/echo`, { method: "POST", body: '{"n":1}' });
  assertEquals(echo.status, 201);
  assertEquals(await echo.json(), { n: 1 });
  assertEquals(await (await fetch(`${t.base}/files/a/b.txt`)).text(), "a/b.txt");
  const err = await fetch(`${t.base}/http-error`);
  assertEquals(err.status, 409);
  assertEquals(err.headers.get("content-type"), "application/problem+json");
  assertEquals((await err.json()).detail, "taken");
});

Deno.test("server.stats() counts one crossing per batch, not per request", async () => {
  await using t = serve(showcase());
  const responses = await Promise.all(
    Array.from({ length: 200 }, (_, i) => fetch(`${t.base}/users/${i}`).then((r) => r.json())),
  );
  responses.forEach((body, i) => assertEquals(body.id, String(i)));
  const stats = t.server.stats();
  assertEquals(stats.toJs, 200);
  assertEquals(stats.slotsInUse, 0);
  assertEquals(
    stats.ffiCallsPerRequest < 1,
    true,
    `ffiCallsPerRequest ${stats.ffiCallsPerRequest}`,
  );
});
