/**
 * The Hono 4 app of the load benchmark, written the Hono way (router,
 * `app.use` onion middleware, `c.json`), shared by two peers: `hono.ts`
 * (on `Deno.serve`) and `hono_on_ferry.ts` (on Ferry's `serve()`), so the
 * pair measures the server underneath the same app. Answers the scenarios
 * of `bench/load/scenarios.ts` with byte-identical bodies and content types.
 * Env: `STATIC_DIR`.
 *
 * @module
 */
// Inline on purpose: the peer must not add Hono to Ferry's own import map.
// deno-lint-ignore no-import-prefix
import { Hono } from "npm:hono@4";
// deno-lint-ignore no-import-prefix
import { zValidator } from "npm:@hono/zod-validator@^0.7";
import { problem, User } from "./_zod_user.ts";

const TEXT = "text/plain; charset=utf-8";
const STATIC_DIR = Deno.env.get("STATIC_DIR") ?? ".";
const SAFE_NAME = /^[\w.-]+$/;

export const app = new Hono<{ Variables: { n: number } }>();

for (let i = 0; i < 16; i++) {
  // Sync middleware: no `async`, it hands back next()'s promise untouched.
  app.use("/mw", (c, next) => {
    c.set("n", (c.get("n") ?? 0) + 1);
    return next();
  });
  app.use("/mw-async", async (c, next) => {
    c.set("n", (c.get("n") ?? 0) + 1);
    await next();
  });
}

app.get("/", (c) => c.text("Hello, World!", 200, { "content-type": TEXT }));
app.get("/const", (c) => c.json({ status: "ok" }));
// deno-lint-ignore no-explicit-any
const user = (c: any) => {
  c.header("x-custom", "1");
  return c.json({
    id: c.req.param("id"),
    name: c.req.query("name") ?? "",
    token: c.req.header("x-token") ?? "",
  });
};
app.get("/user/:id", user);
// `mounted`: the same route in two nested sub-apps, each prefix with a
// path-scoped middleware (Hono's app.route + app.use("/api/*")).
const v1 = new Hono();
v1.get("/user/:id", user);
const api = new Hono<{ Variables: { scope: number } }>();
api.use("/v1/*", async (c, next) => {
  c.header("x-scope", String(c.get("scope") + 1));
  await next();
});
api.route("/v1", v1);
app.use("/api/*", async (c, next) => {
  // deno-lint-ignore no-explicit-any
  (c as any).set("scope", 1);
  await next();
});
app.route("/api", api);
app.post("/json", async (c) => {
  try {
    return c.json(await c.req.json());
  } catch {
    return c.text("Bad Request", 400, { "content-type": TEXT });
  }
});
const mwDone = (c: { get(k: "n"): number }) => String(c.get("n"));
// Hono's own zod validator middleware; its hook answers the same 422.
app.post(
  "/users",
  zValidator("json", User, (result) => result.success ? undefined : problem(result.error.issues)),
  (c) => c.json({ ok: true, name: c.req.valid("json").name }),
);
app.get("/mw", (c) => c.json({ ok: true }, 200, { "x-mw": mwDone(c) }));
app.get("/mw-async", (c) => c.json({ ok: true }, 200, { "x-mw": mwDone(c) }));
app.get("/static/:name", async (c) => {
  const name = c.req.param("name");
  if (!SAFE_NAME.test(name) || name.includes("..")) return c.notFound();
  try {
    const bytes = await Deno.readFile(`${STATIC_DIR}/${name}`);
    return c.body(bytes, 200, { "content-type": "application/octet-stream" });
  } catch {
    return c.notFound();
  }
});
app.notFound((c) => c.text("Not Found", 404, { "content-type": TEXT }));
