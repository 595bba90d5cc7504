import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { App, HttpError, t, withJsonSchema } from "../mod.ts";
// deno-lint-ignore no-import-prefix
import * as v from "npm:valibot@^1.1";
// deno-lint-ignore no-import-prefix
import { toJsonSchema } from "npm:@valibot/to-json-schema@^1.3";
import { serve } from "./_helpers.ts";

interface Problem {
  status: number;
  errors: { location: string; pointer: string; keyword: string; message: string }[];
}

/** The `[location, pointer, keyword]` triples of a 422. */
async function failures(res: Response): Promise<string[][]> {
  assertEquals(res.status, 422);
  assertEquals(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json() as Problem;
  return body.errors.map((e) => {
    ok(e.message.length > 0);
    return [e.location, e.pointer, e.keyword];
  });
}

function app(): App {
  const app = new App();
  app.get("/items/:id/:flag", (c) => c.valid, {
    schema: {
      params: t.Object({ id: t.Integer({ minimum: 1 }), flag: t.Boolean() }),
      query: t.Object({
        limit: t.Integer({ default: 10, maximum: 100 }),
        ratio: t.Optional(t.Number()),
        tag: t.Optional(t.Array(t.String())),
        ids: t.Optional(t.Array(t.Integer())),
      }),
      headers: t.Object({ "x-version": t.Integer(), "x-trace": t.Optional(t.String()) }),
      cookies: t.Object({ session: t.String({ minLength: 3 }) }),
    },
  });
  app.post("/users", (c) => c.valid.body, {
    schema: {
      body: t.Object({
        id: t.String({ format: "uuid" }),
        email: t.String({ format: "email" }),
        born: t.Optional(t.String({ format: "date" })),
        seen: t.Optional(t.String({ format: "date-time" })),
        site: t.Optional(t.String({ format: "uri" })),
        v4: t.Optional(t.String({ format: "ipv4" })),
        v6: t.Optional(t.String({ format: "ipv6" })),
        role: t.String({ default: "member" }),
        address: t.Object({
          city: t.String(),
          zip: t.String({ pattern: "^[0-9]{5}$" }),
          lines: t.Array(t.String({ minLength: 1 }), { default: [] }),
        }),
      }, { additionalProperties: false }),
    },
  });
  app.post("/form", (c) => c.valid.body, {
    schema: { body: t.Object({ n: t.Integer(), on: t.Boolean(), many: t.Array(t.Integer()) }) },
  });
  app.get("/plain", (c) => ({ valid: c.valid }));
  return app;
}

const goodHeaders = { "x-version": "2", cookie: "session=abcd; other=1" };
const uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
const address = { city: "Oslo", zip: "01234" };

Deno.test("validation coerces params, query, headers and cookies and applies defaults", async () => {
  await using s = serve(app());
  const res = await fetch(
    `${s.base}/items/7/true?tag=a&tag=b&ids=1&ids=2&ratio=0.5&extra=x`,
    { headers: goodHeaders },
  );
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    params: { id: 7, flag: true },
    query: { limit: 10, ratio: 0.5, tag: ["a", "b"], ids: [1, 2], extra: "x" },
    headers: { "x-version": 2 },
    cookies: { session: "abcd", other: "1" },
  });
});

Deno.test("validation reports every error of every location at once", async () => {
  await using s = serve(app());
  const res = await fetch(`${s.base}/items/0/maybe?limit=500&ids=1&ids=x&ratio=abc`, {
    headers: { "x-version": "two", cookie: "session=ab" },
  });
  assertEquals(await failures(res), [
    ["path", "/flag", "type"],
    ["path", "/id", "minimum"],
    ["query", "/ids/1", "type"],
    ["query", "/limit", "maximum"],
    ["query", "/ratio", "type"],
    ["header", "/x-version", "type"],
    ["cookie", "/session", "minLength"],
  ]);
});

Deno.test("validation names missing headers and cookies", async () => {
  await using s = serve(app());
  const res = await fetch(`${s.base}/items/1/false`);
  assertEquals(await failures(res), [
    ["header", "", "required"],
    ["cookie", "", "required"],
  ]);
});

Deno.test("validation checks nested body errors with JSON pointers", async () => {
  await using s = serve(app());
  const res = await fetch(`${s.base}/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id: "nope",
      email: "not-an-email",
      born: "2024-13-40",
      seen: "yesterday",
      site: "no scheme",
      v4: "300.1.1.1",
      v6: "::zz",
      address: { zip: "12", lines: ["ok", ""] },
      sneaky: 1,
    }),
  });
  const found = await failures(res);
  const expected = [
    ["body", "", "additionalProperties"],
    ["body", "/address", "required"],
    ["body", "/address/lines/1", "minLength"],
    ["body", "/address/zip", "pattern"],
    ["body", "/born", "format"],
    ["body", "/email", "format"],
    ["body", "/id", "format"],
    ["body", "/seen", "format"],
    ["body", "/site", "format"],
    ["body", "/v4", "format"],
    ["body", "/v6", "format"],
  ];
  assertEquals([...found].sort(), [...expected].sort());
});

Deno.test("validation passes a valid body with formats and nested defaults", async () => {
  await using s = serve(app());
  const body = {
    id: uuid,
    email: "ada@example.com",
    born: "1815-12-10",
    seen: "2024-01-02T03:04:05Z",
    site: "https://example.com/x",
    v4: "10.0.0.1",
    v6: "::1",
    address,
  };
  const res = await fetch(`${s.base}/users`, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify(body),
  });
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    ...body,
    role: "member",
    address: { ...address, lines: [] },
  });
});

Deno.test("validation answers 400 for malformed JSON, 415 for another type, 422 for none", async () => {
  await using s = serve(app());
  const post = (body: string | undefined, type?: string) =>
    fetch(`${s.base}/users`, {
      method: "POST",
      headers: type ? { "content-type": type } : {},
      body,
    });
  const malformed = await post("{", "application/json");
  assertEquals(malformed.status, 400);
  ok(((await malformed.json()).detail as string).includes("not valid JSON"));
  const wrongType = await post("hello", "text/plain");
  assertEquals(wrongType.status, 415);
  await wrongType.body?.cancel();
  assertEquals(await failures(await post(undefined)), [["body", "", "required"]]);
});

Deno.test("validation reads form bodies with coercion and repeated keys", async () => {
  await using s = serve(app());
  const res = await fetch(`${s.base}/form`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "n=5&on=false&many=1&many=2",
  });
  assertEquals(await res.json(), { n: 5, on: false, many: [1, 2] });
  const bad = await fetch(`${s.base}/form`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "n=x&on=yes",
  });
  assertEquals(await failures(bad), [
    ["body", "", "required"],
    ["body", "/n", "type"],
    ["body", "/on", "type"],
  ]);
});

Deno.test("validation answers invalid requests in Rust with zero crossings", async () => {
  await using s = serve(app());
  const before = s.server.stats();
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${s.base}/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "x" }),
    });
    assertEquals(res.status, 422);
    await res.body?.cancel();
  }
  const after = s.server.stats();
  assertEquals(after.toJs, before.toJs);
  assertEquals(after.native, before.native + 5);
});

Deno.test("validation leaves routes without schemas alone (c.valid is empty)", async () => {
  await using s = serve(app());
  const res = await fetch(`${s.base}/plain?x=1`);
  assertEquals(await res.json(), { valid: {} });
});

Deno.test("listen() refuses a route schema that is not valid JSON Schema", () => {
  const bad = new App().get("/x", () => "", { schema: { query: { type: 12 } } });
  let message = "";
  try {
    bad.listen({ hostname: "127.0.0.1", port: 0 });
  } catch (error) {
    message = String(error);
  }
  ok(message.includes("query schema of GET /x"), message);
});

Deno.test("HttpError() writes its extension members into the problem body", async () => {
  const app = new App().post("/orders", () => {
    throw new HttpError(422, "invalid order", {
      errors: [{ pointer: "/qty", message: "must be positive" }],
      type: "https://example.com/problems/invalid-order",
      status: 200,
      headers: { "x-why": "qty" },
    });
  });
  await using s = serve(app);
  const res = await fetch(`${s.base}/orders`, { method: "POST" });
  assertEquals(res.status, 422);
  assertEquals(res.headers.get("x-why"), "qty");
  assertEquals(await res.json(), {
    type: "https://example.com/problems/invalid-order",
    title: "Unprocessable Content",
    status: 422,
    detail: "invalid order",
    errors: [{ pointer: "/qty", message: "must be positive" }],
  });
});

Deno.test("validateResponses answers 500 and logs the route and field of a mismatch", async () => {
  const app = new App();
  app.get("/n/:n", (c) => ({ n: c.valid.params.n === 1 ? "one" : c.valid.params.n }), {
    schema: {
      params: t.Object({ n: t.Integer() }),
      response: { 200: t.Object({ n: t.Integer() }), "4XX": t.Object({ error: t.String() }) },
    },
  });
  app.get("/missing", (c) => c.json({ wrong: true }, 404), {
    schema: { response: { "4XX": t.Object({ error: t.String() }) } },
  });
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  try {
    await using s = serve(app, { validateResponses: true });
    const good = await fetch(`${s.base}/n/2`);
    assertEquals(await good.json(), { n: 2 });
    const bad = await fetch(`${s.base}/n/1`);
    assertEquals(bad.status, 500);
    assertEquals(bad.headers.get("content-type"), "application/problem+json");
    await bad.body?.cancel();
    const ranged = await fetch(`${s.base}/missing`);
    assertEquals(ranged.status, 500);
    await ranged.body?.cancel();
  } finally {
    console.error = original;
  }
  assertEquals(logged.length, 2, logged.join("\n"));
  ok(logged[0].includes("GET /n/:n") && logged[0].includes('"/n"'), logged[0]);
  ok(logged[1].includes("404 response of GET /missing") && logged[1].includes("error"), logged[1]);
});

Deno.test("response schemas are not checked unless validateResponses is on", async () => {
  const app = new App().get("/x", () => ({ n: "text" }), {
    schema: { response: { 200: t.Object({ n: t.Integer() }) } },
  });
  await using s = serve(app);
  assertEquals(await (await fetch(`${s.base}/x`)).json(), { n: "text" });
});

Deno.test("app.fetch() runs the same Rust validation as the network path", async () => {
  const a = app();
  const ok1 = await a.fetch(
    new Request("http://localhost/items/7/true?tag=a&tag=b", { headers: goodHeaders }),
  );
  assertEquals(await ok1.json(), {
    params: { id: 7, flag: true },
    query: { limit: 10, tag: ["a", "b"] },
    headers: { "x-version": 2 },
    cookies: { session: "abcd", other: "1" },
  });
  const bad = await a.fetch(new Request("http://localhost/items/0/true", { headers: goodHeaders }));
  assertEquals(await failures(bad), [["path", "/id", "minimum"]]);
  const malformed = await a.fetch(
    new Request("http://localhost/users", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    }),
  );
  assertEquals(malformed.status, 400);
  assertEquals(malformed.headers.get("content-type"), "application/problem+json");
  const plain = await a.fetch(new Request("http://localhost/plain"));
  assertEquals(await plain.json(), { valid: {} });
});

Deno.test("withJsonSchema() lets a valibot schema be checked in Rust and typed", async () => {
  const body = withJsonSchema(
    v.object({ email: v.pipe(v.string(), v.email()), n: v.optional(v.number(), 3) }),
    toJsonSchema,
  );
  const a = new App().post("/v", (c) => {
    const email: string = c.valid.body.email;
    // @ts-expect-error: `other` is not a field of the valibot schema.
    c.valid.body.other;
    return { email, n: c.valid.body.n };
  }, { schema: { body } });
  await using s = serve(a);
  const post = (value: unknown) =>
    fetch(`${s.base}/v`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(value),
    });
  assertEquals(await (await post({ email: "a@b.co" })).json(), { email: "a@b.co", n: 3 });
  assertEquals(await failures(await post({ email: "nope" })), [["body", "/email", "format"]]);
});

Deno.test("validation carries coerced values of a request that overflows its slot", async () => {
  const a = new App().post("/big", (c) => ({ n: c.valid.body.items.length, q: c.valid.query.q }), {
    schema: {
      query: t.Object({ q: t.Integer() }),
      body: t.Object({ items: t.Array(t.String()) }),
    },
  });
  await using s = serve(a, { requestSlotBytes: 1024 });
  const items = Array.from({ length: 2000 }, (_, i) => `item-${i}`);
  const res = await fetch(`${s.base}/big?q=5`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ items }),
  });
  assertEquals(await res.json(), { n: 2000, q: 5 });
});
