// A multi-module todo API on Ferry (issue #15): sub-apps mounted with
// app.route(), an auth before-middleware with signed session cookies, CORS
// on /api only, a static front end, hooks and an access log. Run:
//   deno run -A examples/todo_api.ts
//   curl -c jar -X POST localhost:8000/api/auth/login -d '{"name":"ada"}'
//   curl -b jar -X POST localhost:8000/api/todos -d '{"title":"write docs"}'
//   curl -b jar localhost:8000/api/todos
//   curl localhost:8000/               (the front end, served by Rust)

import { App, cors, HttpError, logger, requestId, securityHeaders } from "../mod.ts";
import { auth } from "./todo/auth.ts";
import { todos } from "./todo/todos.ts";
import type { TodoEnv } from "./todo/env.ts";

/** The whole app; exported so tests can drive it with `app.request()`. */
export const app: App<TodoEnv> = new App<TodoEnv>();

// Native middleware (Rust, no crossing); CORS only under /api.
app.use(requestId());
app.use(securityHeaders());
app.use("/api/*", cors({ origin: ["http://localhost:5173"], credentials: true }));

const api = new App<TodoEnv>();
api.route("/auth", auth);
api.route("/todos", todos);
api.get("/health", () => ({ ok: true }), { const: true });
api.notFound((c) => c.json({ error: `no endpoint ${c.req.method} ${c.req.path}` }));
api.onError((err, c) => {
  if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
  console.error(err);
  return c.json({ error: "internal error" }, 500);
});
app.route("/api", api);

// The front end: files first, then (fallthrough) the routes above.
app.static("/", new URL("./todo/public", import.meta.url).pathname, { fallthrough: true });

if (import.meta.main) {
  app.use(logger()); // an access line per request, written by Rust
  const server = app.listen({ port: Number(Deno.env.get("PORT") ?? 8000) });
  console.error(`todo API on http://localhost:${server.addr.port}/`);
  Deno.addSignalListener("SIGINT", () => server.shutdown());
  await server.finished;
}
