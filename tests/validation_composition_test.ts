// Validation where it meets streaming and composition: a route with a body
// schema reads a body that would otherwise stream, and the routes of
// mounted sub-apps are checked (network and app.fetch) and documented.

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { App, t } from "../mod.ts";
import { serve } from "./_helpers.ts";

const Items = t.Object({ items: t.Array(t.Integer()), tag: t.String({ default: "none" }) });

/** A JSON body of about `bytes` bytes, sent in slow chunks with no length. */
function slowBody(json: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(json);
  let at = 0;
  return new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at += 16 * 1024));
    },
  });
}

function items(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

Deno.test("validation reads a streamed body whole for a route with a body schema", async () => {
  const app = new App();
  app.post("/checked", async (c) => ({
    n: c.valid.body.items.length,
    tag: c.valid.body.tag,
    bytes: (await c.req.bytes()).length,
  }), { schema: { body: Items } });
  app.post("/small", () => "never", { schema: { body: Items }, bodyLimit: 1024 });
  await using s = serve(app);
  const headers = { "content-type": "application/json" };
  // No declared length, arriving in slow chunks: a route without a schema
  // would stream it, and an empty body would fail the schema.
  const long = JSON.stringify({ items: items(40_000) });
  const chunked = await fetch(`${s.base}/checked`, {
    method: "POST",
    headers,
    body: slowBody(long),
  });
  assertEquals(await chunked.json(), { n: 40_000, tag: "none", bytes: long.length });
  // Declared and larger than the streaming window.
  const big = JSON.stringify({ items: items(30_000), tag: "big" });
  const declared = await fetch(`${s.base}/checked`, { method: "POST", headers, body: big });
  assertEquals(await declared.json(), { n: 30_000, tag: "big", bytes: big.length });
  const invalid = await fetch(`${s.base}/checked`, {
    method: "POST",
    headers,
    body: slowBody(JSON.stringify({ items: [...items(20_000), "x"] })),
  });
  assertEquals(invalid.status, 422);
  const errors = (await invalid.json()).errors.map((e: { pointer: string }) => e.pointer);
  assertEquals(errors, ["/items/20000"]);
  // The route's own limit still applies while reading it whole.
  const tooBig = await fetch(`${s.base}/small`, {
    method: "POST",
    headers,
    body: slowBody(JSON.stringify({ items: items(2000) })),
  });
  assertEquals(tooBig.status, 413);
  await tooBig.body?.cancel();
});

function mounted(): App {
  const v1 = new App();
  v1.get("/items/:id", (c) => ({ id: c.valid.params.id, raw: c.params.id }), {
    schema: { params: t.Object({ id: t.Integer({ minimum: 1 }) }) },
    tags: ["items"],
  });
  v1.post("/items", (c) => c.valid.body, { schema: { body: Items } });
  const api = new App({ basePath: "/api" }).route("/v1", v1);
  return new App().openapi({ docs: false }).route("/", new App()).route("", api);
}

Deno.test("routes of mounted sub-apps are validated over the network and by app.fetch", async () => {
  const app = mounted();
  const fetched = await app.request("/api/v1/items/7");
  assertEquals(await fetched.json(), { id: 7, raw: "7" });
  const refused = await app.request("/api/v1/items/0");
  assertEquals(refused.status, 422);
  assertEquals((await refused.json()).errors[0].pointer, "/id");
  const posted = await app.request("/api/v1/items", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ items: [1, 2] }),
  });
  assertEquals(await posted.json(), { items: [1, 2], tag: "none" });
  await using s = serve(app);
  assertEquals(await (await fetch(`${s.base}/api/v1/items/8`)).json(), { id: 8, raw: "8" });
  const bad = await fetch(`${s.base}/api/v1/items/x`);
  assertEquals(bad.status, 422);
  await bad.body?.cancel();
});

Deno.test("openapi() documents the routes of mounted sub-apps under their full paths", async () => {
  const app = mounted();
  const doc = await (await app.request("/openapi.json")).json();
  assertEquals(Object.keys(doc.paths).sort(), ["/api/v1/items", "/api/v1/items/{id}"]);
  const get = doc.paths["/api/v1/items/{id}"].get;
  assertEquals(get.tags, ["items"]);
  assertEquals(get.parameters[0].schema, { type: "integer", minimum: 1 });
  ok(doc.paths["/api/v1/items"].post.requestBody);
});
