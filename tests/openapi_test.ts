import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
// deno-lint-ignore no-import-prefix
import { Validator } from "npm:@seriousme/openapi-schema-validator@^2";
import { App, t } from "../mod.ts";
import { app as petStore } from "../examples/typed_api.ts";
import { serve } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function documentOf(app: App): Promise<Json> {
  await using s = serve(app);
  const res = await fetch(`${s.base}/openapi.json`);
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "application/json");
  return await res.json();
}

async function assertValidOpenApi(doc: Json): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(doc);
  ok(result.valid, JSON.stringify(result.errors, null, 2));
  assertEquals(validator.version, "3.1");
}

Deno.test("openapi() documents params, query, headers, body, responses and tags", async () => {
  const User = t.Object({ id: t.Integer(), name: t.String() }, { $id: "User" });
  const app = new App().openapi({ info: { title: "Users", version: "2.0.0" }, docs: false });
  app.get("/users/:id", () => ({}), {
    schema: {
      params: t.Object({ id: t.Integer({ minimum: 1 }) }),
      query: t.Object({ expand: t.Optional(t.Boolean()), fields: t.Array(t.String()) }),
      headers: t.Object({ "x-tenant": t.String() }),
      response: { 200: User, 404: t.Object({ detail: t.String() }) },
    },
    summary: "Get a user",
    tags: ["users"],
  });
  app.post("/users", () => ({}), {
    schema: { body: t.Object({ name: t.String() }), response: { 201: User } },
    operationId: "createUser",
    tags: ["users"],
  });
  app.get("/files/*rest", () => "");
  const doc = await documentOf(app);
  await assertValidOpenApi(doc);
  assertEquals(doc.openapi, "3.1.0");
  assertEquals(doc.info, { title: "Users", version: "2.0.0" });
  assertEquals(Object.keys(doc.paths).sort(), ["/files/{rest}", "/users", "/users/{id}"]);
  const get = doc.paths["/users/{id}"].get;
  assertEquals(get.summary, "Get a user");
  assertEquals(get.tags, ["users"]);
  assertEquals(get.operationId, "get_users_id");
  assertEquals(get.parameters, [
    { name: "id", in: "path", required: true, schema: { type: "integer", minimum: 1 } },
    { name: "expand", in: "query", required: false, schema: { type: "boolean" } },
    {
      name: "fields",
      in: "query",
      required: true,
      schema: { type: "array", items: { type: "string" } },
    },
    { name: "x-tenant", in: "header", required: true, schema: { type: "string" } },
  ]);
  assertEquals(get.responses["200"].content["application/json"].schema, {
    $ref: "#/components/schemas/User",
  });
  ok(get.responses["422"], "a validated route documents its 422");
  const post = doc.paths["/users"].post;
  assertEquals(post.operationId, "createUser");
  assertEquals(post.requestBody.content["application/json"].schema, {
    type: "object",
    properties: { name: { type: "string" } },
    required: ["name"],
  });
  assertEquals(post.responses["201"].content["application/json"].schema, {
    $ref: "#/components/schemas/User",
  });
  assertEquals(doc.components.schemas.User, {
    type: "object",
    properties: { id: { type: "integer" }, name: { type: "string" } },
    required: ["id", "name"],
  });
  assertEquals(doc.paths["/files/{rest}"].get.parameters[0].name, "rest");
  ok(!("/openapi.json" in doc.paths), "the document leaves itself out");
});

Deno.test("openapi() serves the document and docs page from Rust with no crossing", async () => {
  await using s = serve(petStore);
  const before = s.server.stats();
  const doc = await (await fetch(`${s.base}/openapi.json`)).json();
  await assertValidOpenApi(doc);
  const page = await fetch(`${s.base}/docs`);
  assertEquals(page.headers.get("content-type"), "text/html; charset=utf-8");
  ok((await page.text()).includes("/docs/assets/swagger-ui-bundle.js"));
  const init = await (await fetch(`${s.base}/docs/init.js`)).text();
  ok(init.includes('"/openapi.json"'));
  const bundle = await fetch(`${s.base}/docs/assets/swagger-ui-bundle.js`);
  assertEquals(bundle.status, 200);
  ok((await bundle.text()).includes("SwaggerUIBundle"));
  const css = await fetch(`${s.base}/docs/assets/swagger-ui.css`);
  assertEquals(css.headers.get("content-type")?.startsWith("text/css"), true);
  await css.body?.cancel();
  assertEquals(s.server.stats().toJs, before.toJs);
});

Deno.test("typed example: zod and TypeBox schemas are checked in Rust", async () => {
  await using s = serve(petStore);
  const post = (body: unknown) =>
    fetch(`${s.base}/pets`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const created = await post({ name: "Rex", born: "2020-02-02" });
  assertEquals(created.status, 201);
  const pet = await created.json();
  assertEquals(pet.name, "Rex");
  const bad = await post({ name: "", born: "2020-02-31x" });
  assertEquals(bad.status, 422);
  const errors = (await bad.json()).errors.map((e: Json) => [e.pointer, e.keyword]);
  ok(errors.some(([p]: string[]) => p === "/name"), JSON.stringify(errors));
  ok(errors.some(([p]: string[]) => p === "/born"), JSON.stringify(errors));
  const one = await fetch(`${s.base}/pets/${pet.id}`);
  assertEquals((await one.json()).id, pet.id);
  const list = await fetch(`${s.base}/pets?limit=0`);
  assertEquals(list.status, 422);
  await list.body?.cancel();
  const page = await (await fetch(`${s.base}/pets`)).json();
  ok(page.length >= 1);
});

Deno.test("openapi() on a mounted sub-app or with basePath documents the full paths", async () => {
  const api = new App({ basePath: "/v1" }).openapi({ info: { title: "Pets", version: "1" } });
  api.get("/pets/:id", (c) => ({ id: c.params.id }));
  const app = new App().route("/api", api);
  await using s = serve(app);
  const res = await fetch(`${s.base}/api/v1/openapi.json`);
  assertEquals(res.status, 200);
  const doc = await res.json();
  assertEquals(Object.keys(doc.paths), ["/api/v1/pets/{id}"]);
  // The docs page loads its script and the document from where they are.
  const page = await (await fetch(`${s.base}/api/v1/docs`)).text();
  const init = page.match(/src="([^"]*init\.js)"/)?.[1];
  assertEquals(init, "/api/v1/docs/init.js");
  const script = await (await fetch(`${s.base}${init}`)).text();
  assertEquals(script.includes(`url: "/api/v1/openapi.json"`), true);
});
