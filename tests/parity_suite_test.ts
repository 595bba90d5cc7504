// Issue #15 part 7: the same requests through the network (listen) and
// in-process (app.fetch) give the same status, headers and body, with
// native middleware and static mounts in play. Headers that only a socket
// adds (date, content-length, connection) are left out of the diff, and
// fresh request ids are compared by shape.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { App, cors, globalHeaders, requestId, securityHeaders } from "../mod.ts";
import { serve } from "./_helpers.ts";

const SOCKET_ONLY = new Set(["date", "content-length", "connection", "keep-alive"]);

function suiteApp(dir: string): App {
  const api = new App();
  api.use(cors({ origin: ["https://app.example"], credentials: true, exposeHeaders: ["x-n"] }));
  api.get("/items/:id", (c) => {
    c.setCookie("seen", c.params.id, { httpOnly: true });
    c.setCookie("more", "1");
    return { id: c.params.id, rid: c.req.header("x-request-id") ?? null };
  });
  api.post("/items", async (c) => c.json(await c.req.json(), 201));
  api.notFound((c) => c.json({ error: "no such endpoint" }));
  const app = new App();
  app.use(securityHeaders());
  app.use(requestId());
  app.use(globalHeaders({ response: { server: "ferry" }, request: { "x-tenant": "t1" } }));
  app.get("/", () => "home", { const: true });
  app.get("/tenant", (c) => c.req.header("x-tenant") ?? "none");
  app.get("/boom", () => {
    throw new Error("hidden");
  });
  app.route("/api", api);
  app.static("/assets", dir, { cacheControl: "public, max-age=60" });
  return app;
}

const REQUESTS: [string, RequestInit?][] = [
  ["/"],
  ["/", { method: "HEAD" }],
  ["/tenant"],
  ["/tenant", { headers: { "x-tenant": "mine" } }],
  ["/nope"],
  ["/", { method: "POST" }],
  ["/boom"],
  ["/api/items/7", { headers: { origin: "https://app.example" } }],
  ["/api/items/7", { headers: { origin: "https://evil.example" } }],
  ["/api/items/7", { headers: { "x-request-id": "given-id-1" } }],
  ["/api/items", {
    method: "POST",
    body: '{"a":1}',
    headers: { "content-type": "application/json" },
  }],
  ["/api/items", {
    method: "OPTIONS",
    headers: { origin: "https://app.example", "access-control-request-method": "POST" },
  }],
  ["/api/missing/thing"],
  ["/assets/app.js"],
  ["/assets/app.js", { method: "HEAD" }],
  ["/assets/app.js", { headers: { range: "bytes=0-3" } }],
  ["/assets/missing.js"],
  ["/assets/"],
];

interface Seen {
  status: number;
  headers: [string, string][];
  body: string;
}

async function seen(res: Response): Promise<Seen> {
  const headers: [string, string][] = [];
  for (const [name, value] of res.headers) {
    if (SOCKET_ONLY.has(name)) continue;
    headers.push([name, name === "x-request-id" && /^[0-9a-f]{32}$/.test(value) ? "<id>" : value]);
  }
  headers.sort(([a, x], [b, y]) => a < b ? -1 : a > b ? 1 : x < y ? -1 : 1);
  const body = (await res.text()).replace(/"[0-9a-f]{32}"/g, '"<id>"');
  return { status: res.status, headers, body };
}

Deno.test("app.fetch answers as the network does (status, headers, body)", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/app.js`, "console.log('front end');\n");
  Deno.writeTextFileSync(`${dir}/index.html`, "<h1>todo</h1>\n");
  const app = suiteApp(dir);
  await using t = serve(app);
  const original = console.error;
  console.error = () => {};
  const wrong: string[] = [];
  try {
    for (const [path, init] of REQUESTS) {
      const network = await seen(await fetch(t.base + path, init));
      const local = await seen(await app.request(path, init));
      try {
        assertEquals(local, network);
      } catch {
        wrong.push(
          `${init?.method ?? "GET"} ${path}:\n  network ${JSON.stringify(network)}\n  fetch   ${
            JSON.stringify(local)
          }`,
        );
      }
    }
  } finally {
    console.error = original;
  }
  assertEquals(wrong, []);
});

Deno.test("app.fetch gives static files, preflights and request ids from Rust", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/app.js`, "x");
  const app = suiteApp(dir);
  const file = await app.request("/assets/app.js");
  assertEquals([file.status, await file.text()], [200, "x"]);
  assertEquals(file.headers.get("cache-control"), "public, max-age=60");
  const preflight = await app.request("/api/items", {
    method: "OPTIONS",
    headers: { origin: "https://app.example", "access-control-request-method": "POST" },
  });
  assertEquals(preflight.status, 204);
  assertEquals(preflight.headers.get("access-control-allow-credentials"), "true");
  const item = await app.request("/api/items/1");
  const { rid } = await item.json();
  assertEquals(item.headers.get("x-request-id"), rid);
  assertEquals(item.headers.getSetCookie(), ["seen=1; Path=/; HttpOnly", "more=1; Path=/"]);
  assertEquals(item.headers.get("x-content-type-options"), "nosniff");
  assertEquals(item.headers.get("server"), "ferry");
  assertEquals(await (await app.request("/tenant")).text(), "t1");
});
