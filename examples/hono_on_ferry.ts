/**
 * A Hono app on Ferry's native core: `serve()` has the signature of
 * `Deno.serve`, so any fetch handler runs behind Rust's accept loop, HTTP
 * parser and router.
 *
 *     deno run -A examples/hono_on_ferry.ts
 *     curl localhost:8000/users/7?q=x
 *
 * @module
 */
// deno-lint-ignore no-import-prefix
import { Hono } from "npm:hono@4";
import { serve } from "../mod.ts";

const app = new Hono();
app.use("*", async (c, next) => {
  const started = performance.now();
  await next();
  c.header("server-timing", `app;dur=${(performance.now() - started).toFixed(2)}`);
});
app.get("/", (c) => c.text("Hello from Hono on Ferry"));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") ?? null }));
app.post("/echo", async (c) => c.json(await c.req.json(), 201));

serve({ port: Number(Deno.env.get("PORT") ?? 8000) }, app.fetch);
