// Issue #15, parts 4 and 5: app.route(), basePath, path-scoped middleware
// (TypeScript and native).

import {
  deepStrictEqual as assertEquals,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
import { App, cors, rateLimit, requestId, securityHeaders } from "../mod.ts";
import { serve } from "./_helpers.ts";

/** GET `path` over the network and through app.fetch; both must agree. */
async function get(app: App, base: string, path: string, init?: RequestInit) {
  const network = await fetch(base + path, init);
  const local = await app.request(path, init);
  const body = await network.text();
  assertEquals(await local.text(), body, `app.fetch body of ${path}`);
  assertEquals(local.status, network.status, `app.fetch status of ${path}`);
  return { status: network.status, body, headers: network.headers };
}

Deno.test("app.route() mounts a sub-app with its routes, middleware and nesting", async () => {
  const log: string[] = [];
  const users = new App();
  users.before((c) => void log.push(`users-before ${c.req.path}`));
  users.get("/", () => "all users");
  users.get("/:id", (c) => `user ${c.params.id}`);
  const v1 = new App();
  v1.before((c) => void c.header("x-v1", "yes"));
  v1.route("/users", users);
  v1.get("/health", () => "ok");
  const app = new App();
  app.before((c) => void log.push(`root-before ${c.req.path}`));
  app.get("/", () => "home");
  app.route("/api/v1", v1);
  await using t = serve(app);
  assertEquals((await get(app, t.base, "/api/v1/users")).body, "all users");
  const one = await get(app, t.base, "/api/v1/users/7");
  assertEquals([one.body, one.headers.get("x-v1")], ["user 7", "yes"]);
  assertEquals((await get(app, t.base, "/api/v1/health")).body, "ok");
  const home = await get(app, t.base, "/");
  assertEquals([home.body, home.headers.get("x-v1")], ["home", null]);
  assertEquals(log.filter((l) => l.startsWith("users-before")).length, 4);
  assertEquals(log.filter((l) => l === "root-before /api/v1/users/7").length, 2);
  assertEquals(log.includes("users-before /api/v1/health"), false);
});

Deno.test("new App({ basePath }) prefixes routes, also when mounted", async () => {
  const api = new App({ basePath: "/api" }).get("/ping", () => "pong");
  assertEquals(await (await api.request("/api/ping")).text(), "pong");
  assertEquals((await api.request("/ping")).status, 404);
  const outer = new App().route("/v2", new App({ basePath: "/x" }).get("/", () => "x root"));
  await using t = serve(outer);
  assertEquals((await get(outer, t.base, "/v2/x")).body, "x root");
  assertThrows(() => new App({ basePath: "api" }), TypeError);
});

Deno.test("app.use('/api/*', fn), before(path) and after(path) apply only under the path", async () => {
  const app = new App();
  app.use("/api/*", async (c, next) => {
    await next();
    c.header("x-onion", "api");
  });
  app.before("/admin", (c) => c.req.header("x-admin") ? undefined : c.text("no", 403));
  app.after("/api/*", (_c, res) => void res.headers.set("x-after", "api"));
  app.get("/api", () => "api root");
  app.get("/api/items", () => "items");
  app.get("/apix", () => "not api");
  app.get("/admin", () => "admin");
  app.get("/admin/other", () => "other");
  await using t = serve(app);
  for (const path of ["/api", "/api/items"]) {
    const res = await get(app, t.base, path);
    assertEquals([res.headers.get("x-onion"), res.headers.get("x-after")], ["api", "api"], path);
  }
  const apix = await get(app, t.base, "/apix");
  assertEquals([apix.headers.get("x-onion"), apix.headers.get("x-after")], [null, null]);
  assertEquals((await get(app, t.base, "/admin")).status, 403);
  assertEquals((await get(app, t.base, "/admin", { headers: { "x-admin": "1" } })).body, "admin");
  assertEquals((await get(app, t.base, "/admin/other")).body, "other", "exact scope");
  assertThrows(() => app.use("api/*", () => {}), TypeError);
  assertThrows(() => app.use("/a*", () => {}), TypeError);
});

Deno.test("app.use('/api/*', cors()) limits native CORS to /api, decided in Rust", async () => {
  const app = new App();
  app.use("/api/*", cors({ origin: ["https://app.example"] }));
  app.use(securityHeaders());
  app.get("/api/data", () => ({ ok: true }));
  app.get("/page", () => "page");
  await using t = serve(app);
  const headers = { origin: "https://app.example" };
  const api = await fetch(`${t.base}/api/data`, { headers });
  await api.body?.cancel();
  assertEquals(api.headers.get("access-control-allow-origin"), "https://app.example");
  const page = await fetch(`${t.base}/page`, { headers });
  await page.body?.cancel();
  assertEquals(page.headers.get("access-control-allow-origin"), null);
  assertEquals(page.headers.get("x-content-type-options"), "nosniff", "unscoped still applies");
  const preflight = await fetch(`${t.base}/page`, {
    method: "OPTIONS",
    headers: { ...headers, "access-control-request-method": "POST" },
  });
  await preflight.body?.cancel();
  assertEquals(preflight.headers.get("access-control-allow-origin"), null);
});

Deno.test("rateLimit() on /login only", async () => {
  const app = new App();
  app.use("/login", rateLimit({ capacity: 1, refillPerSecond: 0.001 }));
  app.post("/login", () => "in");
  app.get("/", () => "home");
  await using t = serve(app);
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${t.base}/login`, { method: "POST" });
    await res.body?.cancel();
    statuses.push(res.status);
    const home = await fetch(`${t.base}/`);
    await home.body?.cancel();
    statuses.push(home.status);
  }
  assertEquals(statuses, [200, 200, 429, 200, 429, 200]);
});

Deno.test("a mounted app's native middleware and static mounts are scoped to its prefix", async () => {
  const api = new App().use(requestId()).get("/x", () => "x");
  const app = new App().route("/api", api).get("/y", () => "y");
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/index.html`, "<h1>front</h1>\n");
  app.route("/site", new App().static("/", dir));
  await using t = serve(app);
  const x = await fetch(`${t.base}/api/x`);
  await x.body?.cancel();
  const y = await fetch(`${t.base}/y`);
  await y.body?.cancel();
  assertEquals([typeof x.headers.get("x-request-id"), y.headers.get("x-request-id")], [
    "string",
    null,
  ]);
  assertEquals(await (await fetch(`${t.base}/site/index.html`)).text(), "<h1>front</h1>\n");
});

Deno.test("the same native middleware registered twice in the tree is refused at listen()", () => {
  const app = new App().use(cors()).route("/api", new App().use(cors()));
  assertThrows(() => app.listen({ port: 0, hostname: "127.0.0.1" }), /registered twice/);
});

Deno.test("an app mounted inside itself is refused when compiled", async () => {
  const a = new App().get("/", () => "a");
  const b = new App().route("/a", a);
  a.route("/b", b);
  await assertRejects(() => a.request("/"), /mounted inside itself/);
});
