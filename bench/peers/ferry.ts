/**
 * Load-benchmark peer: Ferry itself. Answers the scenarios of
 * `bench/load/scenarios.ts`; scenarios Ferry cannot serve yet fail the
 * runner's correctness check and are reported as skipped with the reason.
 * Env: `PORT` (default 8000), `STATIC_DIR`.
 *
 * The middleware chains are attached to their own routes (`before` in the
 * route options), never globally: a global TypeScript middleware would apply
 * to the plaintext, const and static routes too and measure something else.
 * If per-route `before` is unsupported, `x-mw` stays 0 and the check fails.
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { App, logger, t } from "../../mod.ts";

const STATIC_DIR = Deno.env.get("STATIC_DIR") ?? ".";

// Per-request state through the context, Ferry's idiom (Hono's c.set too).
const count = (c: any): undefined => {
  c.set("n", (c.get("n") ?? 0) + 1);
  return undefined;
};
// deno-lint-ignore require-await
const countAsync = async (c: any): Promise<undefined> => {
  c.set("n", (c.get("n") ?? 0) + 1);
  return undefined;
};
const mwDone = (c: any) => {
  c.header("x-mw", String(c.get("n") ?? 0));
  return c.json({ ok: true });
};

const app: any = new App();
app.get("/", () => "Hello, World!");
const user = (c: any) => {
  c.header("x-custom", "1");
  return c.json({
    id: c.params.id,
    name: c.query.get("name") ?? "",
    token: c.req.header("x-token") ?? "",
  });
};
app.get("/user/:id", user);
// `mounted`: the same route in two nested sub-apps, each prefix with a
// path-scoped sync before-middleware (compiled into the route's plan).
const v1: any = new App();
v1.get("/user/:id", user);
const api: any = new App();
api.before("/v1/*", (c: any) => {
  c.header("x-scope", String(c.get("scope") + 1));
});
api.route("/v1", v1);
app.before("/api/*", (c: any) => {
  c.set("scope", 1);
});
app.route("/api", api);
// `FERRY_LOGGER=1`: the access log on every request (the ferry-logged peer).
if (Deno.env.get("FERRY_LOGGER") === "1") app.use(logger());
app.post("/json", async (c: any) => c.json(await c.req.json()));
if (Deno.env.get("FERRY_NO_SCHEMA") === "1") {
  // `FERRY_NO_SCHEMA=1` (the ferry-noschema peer): the same route with no
  // schema, the handler reading the body the way it then must: what the
  // schema costs on `valid-body`.
  app.post("/users", async (c: any) => c.json({ ok: true, name: (await c.req.json()).name }));
} else {
  // Checked in Rust: an invalid body is answered 422 with no crossing.
  app.post("/users", (c: any) => c.json({ ok: true, name: c.valid.body.name }), {
    schema: {
      body: t.Object({
        name: t.String({ minLength: 1 }),
        age: t.Integer({ minimum: 0 }),
        email: t.String({ format: "email" }),
      }),
    },
  });
}
app.get("/mw", mwDone, { before: Array(16).fill(count) });
app.get("/mw-async", mwDone, { before: Array(16).fill(countAsync) });
try {
  app.get("/const", () => ({ status: "ok" }), { const: true });
} catch {
  // Const routes may not exist yet: the check reports /const as skipped.
}
if (typeof app.static === "function") app.static("/static", STATIC_DIR);

app.listen({ port: Number(Deno.env.get("PORT") ?? 8000) });
