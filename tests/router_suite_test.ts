// One routing table, run against both routers: app.fetch (the TypeScript
// RouteTree) and listen() (Rust, matchit). Each row states the expected
// outcome, so neither router can drift from the rules or from the other.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { App, type Method } from "../mod.ts";
import { serve } from "./_helpers.ts";

/** Routes as (method, pattern); each answers `{ route, params }`. */
const ROUTES: [Method, string][] = [
  ["GET", "/"],
  ["GET", "/users"],
  ["GET", "/users/me"],
  ["GET", "/users/:id"],
  ["DELETE", "/users/:id"],
  ["GET", "/users/:id/posts/:post"],
  ["GET", "/files/*path"],
  ["GET", "/files/readme"],
  ["*", "/any"],
  ["GET", "/both"],
  ["*", "/both"],
  ["HEAD", "/head-only"],
  ["GET", "/explicit-head"],
  ["HEAD", "/explicit-head"],
  ["POST", "/post-only"],
  ["GET", "/trailing/"],
  ["GET", "/a/b/c"],
  ["GET", "/a/:p/d"],
  ["GET", "/w/b/c"],
  ["GET", "/w/*rest"],
  ["GET", "/Case"],
  ["GET", "/café"],
  ["GET", "/dots/:name.txt"],
  ["PUT", "/p/:x"],
  ["PATCH", "/p/:x"],
  ["OPTIONS", "/p/:x"],
];

/** Expected: a route (pattern + method key) with params, or a status. */
type Outcome =
  | { route: string; params?: Record<string, string> }
  | { status: 404 | 400 }
  | { status: 405 | 204; allow: string };

const TABLE: [string, string, Outcome][] = [
  ["GET", "/", { route: "GET /" }],
  ["GET", "/users", { route: "GET /users" }],
  ["GET", "/users/", { status: 404 }],
  ["GET", "/users/me", { route: "GET /users/me" }],
  ["GET", "/users/mee", { route: "GET /users/:id", params: { id: "mee" } }],
  ["GET", "/users/m", { route: "GET /users/:id", params: { id: "m" } }],
  ["DELETE", "/users/7", { route: "DELETE /users/:id", params: { id: "7" } }],
  ["DELETE", "/users/me", { status: 405, allow: "GET, HEAD, OPTIONS" }],
  ["POST", "/users/7", { status: 405, allow: "DELETE, GET, HEAD, OPTIONS" }],
  ["OPTIONS", "/users/7", { status: 204, allow: "DELETE, GET, HEAD, OPTIONS" }],
  ["HEAD", "/users/7", { route: "GET /users/:id", params: { id: "7" } }],
  ["GET", "/users/a%20b", { route: "GET /users/:id", params: { id: "a b" } }],
  ["GET", "/users/a%2Fb", { route: "GET /users/:id", params: { id: "a/b" } }],
  ["GET", "/users/%E2%9C%93", { route: "GET /users/:id", params: { id: "✓" } }],
  ["GET", "/users/a+b", { route: "GET /users/:id", params: { id: "a+b" } }],
  ["GET", "/users/%FF", { status: 400 }],
  // A "%" without two hex digits is malformed percent-encoding: 400.
  ["GET", "/users/%zz", { status: 400 }],
  ["GET", "/users/100%", { status: 400 }],
  ["GET", "/users/1/posts/2", {
    route: "GET /users/:id/posts/:post",
    params: { id: "1", post: "2" },
  }],
  ["GET", "/users/me/posts/2", {
    route: "GET /users/:id/posts/:post",
    params: { id: "me", post: "2" },
  }],
  ["GET", "/users/1/posts", { status: 404 }],
  ["GET", "/users/1/posts/", { status: 404 }],
  ["GET", "/files/a", { route: "GET /files/*path", params: { path: "a" } }],
  ["GET", "/files/a/b/c", { route: "GET /files/*path", params: { path: "a/b/c" } }],
  ["GET", "/files/a%20b/c%2Fd", { route: "GET /files/*path", params: { path: "a b/c/d" } }],
  ["GET", "/files/readme", { route: "GET /files/readme" }],
  ["GET", "/files/readme/x", { route: "GET /files/*path", params: { path: "readme/x" } }],
  // A wildcard's rest may be empty (issue #15): `/files/` matches, `/files` does not.
  ["GET", "/files/", { route: "GET /files/*path", params: { path: "" } }],
  ["GET", "/files", { status: 404 }],
  ["GET", "/files/a/", { route: "GET /files/*path", params: { path: "a/" } }],
  ["POST", "/files/a", { status: 405, allow: "GET, HEAD, OPTIONS" }],
  ["GET", "/any", { route: "* /any" }],
  ["PURGE", "/any", { route: "* /any" }],
  ["OPTIONS", "/any", { route: "* /any" }],
  ["HEAD", "/any", { route: "* /any" }],
  ["GET", "/both", { route: "GET /both" }],
  ["HEAD", "/both", { route: "GET /both" }],
  ["POST", "/both", { route: "* /both" }],
  ["HEAD", "/head-only", { route: "HEAD /head-only" }],
  ["GET", "/head-only", { status: 405, allow: "HEAD, OPTIONS" }],
  ["HEAD", "/explicit-head", { route: "HEAD /explicit-head" }],
  ["GET", "/explicit-head", { route: "GET /explicit-head" }],
  ["GET", "/post-only", { status: 405, allow: "OPTIONS, POST" }],
  ["HEAD", "/post-only", { status: 405, allow: "OPTIONS, POST" }],
  ["GET", "/trailing/", { route: "GET /trailing/" }],
  ["GET", "/trailing", { status: 404 }],
  ["GET", "/a/b/c", { route: "GET /a/b/c" }],
  ["GET", "/a/b/d", { route: "GET /a/:p/d", params: { p: "b" } }],
  ["GET", "/a/x/d", { route: "GET /a/:p/d", params: { p: "x" } }],
  ["GET", "/w/b/c", { route: "GET /w/b/c" }],
  ["GET", "/w/b/x", { route: "GET /w/*rest", params: { rest: "b/x" } }],
  ["GET", "/w/b", { route: "GET /w/*rest", params: { rest: "b" } }],
  ["GET", "/Case", { route: "GET /Case" }],
  ["GET", "/case", { status: 404 }],
  ["GET", "/dots/a.txt", { route: "GET /dots/:name.txt", params: { "name.txt": "a.txt" } }],
  ["GET", "//users", { status: 404 }],
  ["GET", "/nowhere", { status: 404 }],
  ["OPTIONS", "/nowhere", { status: 404 }],
  ["PUT", "/p/1", { route: "PUT /p/:x", params: { x: "1" } }],
  ["OPTIONS", "/p/1", { route: "OPTIONS /p/:x", params: { x: "1" } }],
  ["GET", "/p/1", { status: 405, allow: "OPTIONS, PATCH, PUT" }],
];

/**
 * Rows both routers get wrong in the same way today (see the report of the
 * tests' author): a pattern with non-ASCII literals is never matched,
 * because requests arrive percent-encoded and patterns are compared raw.
 */
const KNOWN_BUGS: [string, string, Outcome][] = [
  ["GET", "/caf%C3%A9", { route: "GET /café" }],
];

function suiteApp(): App {
  const app = new App();
  for (const [method, pattern] of ROUTES) {
    app.on(method, pattern, (c) => {
      c.header("x-route", `${method} ${pattern}`);
      return { route: `${method} ${pattern}`, params: c.params };
    });
  }
  return app;
}

async function outcome(res: Response, method: string): Promise<Outcome> {
  const route = res.headers.get("x-route");
  if (route !== null) {
    if (method === "HEAD") {
      await res.body?.cancel();
      return { route };
    }
    const body = await res.json();
    return Object.keys(body.params).length > 0 ? body : { route };
  }
  await res.body?.cancel();
  const allow = res.headers.get("allow");
  if (allow !== null) return { status: res.status as 405 | 204, allow };
  return { status: res.status as 404 | 400 };
}

/** HEAD answers carry no body, so only the route is compared for them. */
function expected(method: string, want: Outcome): Outcome {
  return method === "HEAD" && "route" in want ? { route: want.route } : want;
}

async function runTable(
  send: (method: string, path: string) => Promise<Response>,
  table = TABLE,
): Promise<string[]> {
  const wrong: string[] = [];
  for (const [method, path, want] of table) {
    const got = await outcome(await send(method, path), method);
    const exp = expected(method, want);
    if (JSON.stringify(got) !== JSON.stringify(exp)) {
      wrong.push(`${method} ${path}: got ${JSON.stringify(got)} want ${JSON.stringify(exp)}`);
    }
  }
  return wrong;
}

Deno.test("RouteTree (app.fetch) follows the shared routing table", async () => {
  const app = suiteApp();
  const wrong = await runTable((method, path) =>
    app.fetch(new Request(`http://localhost${path}`, { method }))
  );
  assertEquals(wrong, []);
});

Deno.test("Rust router (listen) follows the shared routing table", async () => {
  await using t = serve(suiteApp());
  const wrong = await runTable((method, path) => fetch(`${t.base}${path}`, { method }));
  assertEquals(wrong, []);
  assertEquals(t.server.stats().slotsInUse, 0);
});

Deno.test("both routers match a non-ASCII pattern from its encoded path", {
  ignore: false, // KNOWN_BUGS above
}, async () => {
  const app = suiteApp();
  const local = (method: string, path: string) =>
    app.fetch(new Request(`http://localhost${path}`, { method }));
  assertEquals(await runTable(local, KNOWN_BUGS), []);
  await using t = serve(app);
  const network = (method: string, path: string) => fetch(`${t.base}${path}`, { method });
  assertEquals(await runTable(network, KNOWN_BUGS), []);
});

/** Whether `fn` throws a TypeError. */
function refuses(fn: () => unknown): boolean {
  try {
    fn();
  } catch (error) {
    return error instanceof TypeError;
  }
  return false;
}

Deno.test("app.on() refuses at once the patterns the Rust router refuses", () => {
  const tables: [Method, string][][] = [
    [["GET", "/f/*a"], ["GET", "/f/:x"]],
    [["GET", "/f/:x"], ["GET", "/f/*a"]],
    [["GET", "/f/:x/y"], ["POST", "/f/*a"]],
    [["GET", "/a/:"]],
    [["GET", "/a/*"]],
    [["GET", "/x/*rest/more"]],
    [["GET", "no-slash"]],
    [["GET", "/u"], ["GET", "/u"]],
  ];
  for (const table of tables) {
    const app = new App();
    const refused = refuses(() => {
      for (const [method, pattern] of table) app.on(method, pattern, () => "x");
    });
    assertEquals(refused, true, JSON.stringify(table));
  }
});

Deno.test("both routers accept and agree on tables with different param names", async () => {
  const app = new App();
  app.get("/a/:x/b", (c) => c.params);
  app.get("/a/:y/c", (c) => c.params);
  app.get("/u/:id", (c) => c.params);
  app.get("/u/:name/x", (c) => c.params);
  await using t = serve(app);
  for (
    const [path, params] of [
      ["/a/1/b", { x: "1" }],
      ["/a/2/c", { y: "2" }],
      ["/u/3", { id: "3" }],
      ["/u/4/x", { name: "4" }],
    ] as const
  ) {
    const local = await (await app.fetch(new Request(`http://localhost${path}`))).json();
    const network = await (await fetch(`${t.base}${path}`)).json();
    assertEquals(local, params, `app.fetch ${path}`);
    assertEquals(network, params, `listen ${path}`);
  }
});

Deno.test("listen() accepts one path shape with different param names per method", {
  // Known bug (ffi/src/router.rs add()): matchit sees /users/{id} and
  // /users/{name} as a conflict, so listen() throws while app.fetch works.
  ignore: false,
}, async () => {
  const app = new App();
  app.get("/users/:id", (c) => c.params);
  app.delete("/users/:name", (c) => c.params);
  await using t = serve(app);
  assertEquals(await (await fetch(`${t.base}/users/1`)).json(), { id: "1" });
  const res = await fetch(`${t.base}/users/2`, { method: "DELETE" });
  assertEquals(await res.json(), { name: "2" });
});
