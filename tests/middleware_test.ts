// Middleware semantics (docs/middleware.md), end to end on a real server
// and through app.fetch: detection, hop accounting, order, early returns,
// after-middleware, per-request context, errors, onions.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { type After, App, type Before, contextStorage, getContext, HttpError } from "../mod.ts";
import { serve, type TestServer } from "./_helpers.ts";

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function get(t: TestServer, path: string, headers: HeadersInit = {}): Promise<Answer> {
  const res = await fetch(`${t.base}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

async function fetchApp(app: App, path: string, headers: HeadersInit = {}): Promise<Answer> {
  const res = await app.fetch(new Request(`http://localhost${path}`, { headers }));
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Both ways in: a real server, then in-process. */
async function both(app: App, path: string, check: (a: Answer) => void): Promise<void> {
  await using t = serve(app);
  check(await get(t, path));
  check(await fetchApp(app, path));
}

/** Silences the 500 log lines these tests provoke on purpose. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.error;
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.error = original;
  }
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("before() detects async from what the function returns, never a flag", async () => {
  const seen: string[] = [];
  // Looks async by name and flag, is sync: no hop.
  const liar = Object.assign(function asyncLooking() {
    seen.push("liar");
  }, { async: true, isAsync: true });
  // A plain function returning a promise only sometimes: a hop only then.
  const sometimes: Before = (c) => {
    seen.push("sometimes");
    if (c.req.header("x-slow")) return Promise.resolve();
  };
  // A non-Promise thenable is awaited too.
  const thenable: Before = () => ({ then: (ok: (v: undefined) => void) => ok(undefined) });
  const app = new App().before(liar).before(sometimes).get("/", () => "ok");
  app.get("/thenable", () => "t", { before: [thenable] });
  await using t = serve(app);
  assertEquals((await get(t, "/")).body, "ok");
  assertEquals(t.server.stats().hops, 0);
  assertEquals((await get(t, "/", { "x-slow": "1" })).body, "ok");
  assertEquals(t.server.stats().hops, 1);
  assertEquals((await get(t, "/thenable")).body, "t");
  assertEquals(t.server.stats().hops, 2);
  assertEquals(seen.filter((s) => s === "liar").length, 3);
});

Deno.test("runPlan() costs one hop for [sync, sync, async, sync, sync]", async () => {
  const trace: string[] = [];
  const sync = (name: string): Before => () => void trace.push(name);
  const app = new App()
    .before(sync("s1")).before(sync("s2"))
    .before(async () => {
      await tick();
      trace.push("a");
    })
    .before(sync("s3")).before(sync("s4"))
    .get("/", () => "ok");
  await using t = serve(app);
  const n = 20;
  const bodies = await Promise.all(
    Array.from({ length: n }, () => fetch(`${t.base}/`).then((r) => r.text())),
  );
  assertEquals(bodies, Array(n).fill("ok"));
  const stats = t.server.stats();
  assertEquals(stats.toJs, n);
  assertEquals(stats.hops, n);
  assertEquals(stats.hopsPerRequest, 1);
  assertEquals(trace.length, 5 * n);
});

Deno.test("runPlan() costs one hop per async after-middleware and async handler", async () => {
  const app = new App()
    .after(() => {})
    // An async function that never awaits still returns a promise: one hop.
    // deno-lint-ignore require-await
    .after(async (_c, res) => void res.headers.set("x-a", "1"))
    .after(() => {})
    .get("/", async () => await Promise.resolve("ok"));
  await using t = serve(app);
  for (let i = 0; i < 5; i++) {
    const a = await get(t, "/");
    assertEquals([a.body, a.headers.get("x-a")], ["ok", "1"]);
  }
  assertEquals(t.server.stats().hopsPerRequest, 2);
});

Deno.test("runPlan() runs 16 sync before + 16 sync after with 0 hops and no extra FFI call", async () => {
  const bare = new App().get("/", () => "ok");
  const chained = new App().get("/", () => "ok");
  for (let i = 0; i < 16; i++) {
    chained.before((c) => c.set(`b${i}`, i));
    chained.after((_c, res) => void res.set(`x-a${i}`, "1"));
  }
  await using a = serve(bare);
  await using b = serve(chained);
  // Warm both connections up, then take deltas over the same pattern.
  await get(a, "/");
  await get(b, "/");
  const a0 = a.server.stats().ffiCalls.total;
  const b0 = b.server.stats().ffiCalls.total;
  const n = 20;
  for (let i = 0; i < n; i++) {
    assertEquals((await get(a, "/")).body, "ok");
    const answer = await get(b, "/");
    assertEquals([answer.body, answer.headers.get("x-a15")], ["ok", "1"]);
  }
  const sa = a.server.stats();
  const sb = b.server.stats();
  assertEquals(sb.hops, 0);
  assertEquals(sa.hops, 0);
  assertEquals(sb.ffiCalls.total - b0, sa.ffiCalls.total - a0);
});

Deno.test("middleware runs global before route, each in registration order", async () => {
  const trace: string[] = [];
  const mark = (name: string) => () => void trace.push(name);
  const app = new App()
    .before(mark("g-before-1"))
    .after(mark("g-after-1"))
    .before(mark("g-before-2"))
    .after(mark("g-after-2"));
  app.get("/", () => {
    trace.push("handler");
    return "ok";
  }, {
    before: [mark("r-before-1"), mark("r-before-2")],
    after: [mark("r-after-1"), mark("r-after-2")],
  });
  const expected = [
    ...["g-before-1", "g-before-2", "r-before-1", "r-before-2", "handler"],
    ...["g-after-1", "g-after-2", "r-after-1", "r-after-2"],
  ];
  await both(app, "/", (a) => {
    assertEquals(a.body, "ok");
    assertEquals(trace.splice(0), expected);
  });
});

Deno.test("before() answering early skips the rest and the handler; every after still runs", async () => {
  const trace: string[] = [];
  const app = new App()
    .before((c) => void c.header("x-early", "kept"))
    .before((c) => c.req.header("x-deny") ? c.text("denied", 401) : undefined)
    .before(() => void trace.push("global before 3"))
    .after((_c, res) => void trace.push(`global after ${res.status}`));
  app.get("/", () => {
    trace.push("handler");
    return "ok";
  }, {
    before: [() => void trace.push("route before")],
    after: [async (_c, res) => {
      await tick();
      trace.push(`route after ${res.status}`);
      res.headers.set("x-route-after", "ran");
    }],
  });
  await using t = serve(app);
  for (const ask of [get, (_: TestServer, p: string, h: HeadersInit) => fetchApp(app, p, h)]) {
    const a = await ask(t, "/", { "x-deny": "1" });
    assertEquals([a.status, a.body], [401, "denied"]);
    assertEquals(a.headers.get("x-early"), "kept");
    assertEquals(a.headers.get("x-route-after"), "ran");
    assertEquals(trace.splice(0), ["global after 401", "route after 401"]);
  }
  // Early answers of other kinds: a string and a Web Response.
  const other = new App()
    .before((c) => void c.header("x-early", "kept"))
    .before((c) =>
      c.req.header("x-kind") === "response"
        ? new Response("web", { status: 403, headers: { "x-web": "1" } })
        : "plain"
    )
    .after((_c, res) => void res.set("x-after", String(res.status)))
    .get("/", () => "handler");
  await using o = serve(other);
  const plain = await get(o, "/");
  assertEquals([plain.status, plain.body, plain.headers.get("x-after")], [200, "plain", "200"]);
  const web = await get(o, "/", { "x-kind": "response" });
  assertEquals([web.status, web.body, web.headers.get("x-web")], [403, "web", "1"]);
  assertEquals([web.headers.get("x-early"), web.headers.get("x-after")], ["kept", "403"]);
});

Deno.test("after() sees the request as before-middleware left it, and the response", async () => {
  let beforeReq: unknown;
  const app = new App()
    .before((c) => {
      beforeReq = c.req;
      c.set("user", c.req.header("x-user"));
    })
    .after((c, res) => {
      assert(c.req === beforeReq, "after-middleware gets the same c.req");
      assertEquals(c.res, res);
      res.headers.set("x-seen", `${c.get("user")} ${c.req.path} ${res.status} ${res.body}`);
    })
    .get("/hi", (c) => c.text(`hi ${c.get("user")}`, 201));
  await both(app, "/hi", (a) => {
    assertEquals([a.status, a.body], [201, "hi undefined"]);
    assertEquals(a.headers.get("x-seen"), "undefined /hi 201 hi undefined");
  });
  await using t = serve(app);
  const a = await get(t, "/hi", { "x-user": "ada" });
  assertEquals(a.headers.get("x-seen"), "ada /hi 201 hi ada");
});

Deno.test("after() may replace the response with a Reply, Response, string or object", async () => {
  const replacements: Record<string, After> = {
    reply: (c) => c.json({ replaced: "reply" }, 202),
    response: () => new Response("web", { status: 203, headers: { "x-web": "1" } }),
    string: () => "text",
    // deno-lint-ignore require-await
    object: async () => ({ replaced: "async object" }),
  };
  const app = new App().after((c) => void c.header("x-kept", "1"));
  for (const [name, fn] of Object.entries(replacements)) {
    app.get(`/${name}`, () => "original", { after: [fn] });
  }
  await using t = serve(app);
  for (const ask of [get, (_: TestServer, p: string) => fetchApp(app, p)]) {
    const reply = await ask(t, "/reply");
    assertEquals([reply.status, reply.body], [202, '{"replaced":"reply"}']);
    const web = await ask(t, "/response");
    assertEquals([web.status, web.body, web.headers.get("x-web")], [203, "web", "1"]);
    assertEquals((await ask(t, "/string")).body, "text");
    const object = await ask(t, "/object");
    assertEquals([object.body, object.headers.get("x-kept")], ['{"replaced":"async object"}', "1"]);
  }
});

Deno.test("c.set() and c.get() carry one context through before, handler and after", async () => {
  const app = new App()
    .before((c) => c.set("trail", ["before"]))
    .before(async (c) => {
      await tick();
      c.get<string[]>("trail")!.push("async before");
    })
    .after(async (c, res) => {
      await tick();
      res.headers.set("x-trail", [...c.get<string[]>("trail")!, "after"].join(","));
    })
    .get("/", async (c) => {
      await tick();
      c.get<string[]>("trail")!.push("handler");
      return "ok";
    });
  await both(app, "/", (a) => {
    assertEquals(a.headers.get("x-trail"), "before,async before,handler,after");
  });
});

Deno.test("AsyncLocalStorage.run() in an onion reaches later middleware and the handler", async () => {
  const als = new AsyncLocalStorage<string>();
  const app = new App()
    .use((c, next) => als.run(c.req.header("x-id") ?? "none", next))
    .before(async (c) => {
      await tick(1);
      c.set("before", als.getStore());
    })
    .get("/", async (c) => {
      await tick(1);
      return `${c.get("before")} ${als.getStore()}`;
    });
  await using t = serve(app);
  const ids = ["a", "b", "c", "d", "e", "f"];
  const bodies = await Promise.all(ids.map((id) => get(t, "/", { "x-id": id })));
  assertEquals(bodies.map((a) => a.body), ids.map((id) => `${id} ${id}`));
});

Deno.test("getContext() gives the request's Context in before, handler and after, across awaits", async () => {
  const seen = (where: string) => `${where}:${getContext().req.header("x-id")}`;
  const app = new App()
    .use(contextStorage())
    .before((c) => c.set("trail", [seen("before")]))
    .before(async (c) => {
      await tick(Number(c.req.header("x-delay")));
      c.get<string[]>("trail")!.push(seen("async-before"));
    })
    .after((c) => void c.get<string[]>("trail")!.push(seen("after")))
    .after(async (c, res) => {
      await tick(1);
      assert(getContext() === c);
      res.set("x-trail", [...c.get<string[]>("trail")!, seen("async-after")].join(" "));
    })
    .get("/", async (c) => {
      await tick(1);
      c.get<string[]>("trail")!.push(seen("handler"));
      return "ok";
    });
  await using t = serve(app);
  const ids = ["1", "2", "3", "4", "5"];
  // Later ids finish first, so the requests interleave.
  const answers = await Promise.all(
    ids.map((id) => get(t, "/", { "x-id": id, "x-delay": String(10 - 2 * Number(id)) })),
  );
  for (const [i, a] of answers.entries()) {
    const id = ids[i];
    const trail = ["before", "async-before", "handler", "after", "async-after"];
    assertEquals(a.headers.get("x-trail"), trail.map((w) => `${w}:${id}`).join(" "));
  }
  assertEquals(t.server.stats().hopsPerRequest, 3);
  const local = await fetchApp(app, "/", { "x-id": "local", "x-delay": "0" });
  assert(local.headers.get("x-trail")!.endsWith("async-after:local"));
  let outside: unknown;
  try {
    getContext();
  } catch (error) {
    outside = error;
  }
  assert(outside instanceof Error && outside.message.includes("contextStorage()"));
});

Deno.test("contextStorage() scopes AsyncLocalStorage.enterWith() to the request, with no hop", async () => {
  const als = new AsyncLocalStorage<string>();
  const app = new App()
    .before((c) => {
      const user = c.req.header("x-user");
      if (user) als.enterWith(user);
    })
    .after((_c, res) => void res.set("x-after", als.getStore() ?? "none"))
    .get("/", () => als.getStore() ?? "none")
    .use(contextStorage()); // position does not matter: it wraps the whole request
  await using t = serve(app);
  const ada = await get(t, "/", { "x-user": "ada" });
  assertEquals([ada.body, ada.headers.get("x-after")], ["ada", "ada"]);
  const anon = await get(t, "/");
  assertEquals([anon.body, anon.headers.get("x-after")], ["none", "none"]);
  assertEquals(als.getStore(), undefined);
  assertEquals(t.server.stats().hops, 0);
});

Deno.test("a throw anywhere answers the same problem+json 500 and the server keeps serving", async () => {
  const boom = () => {
    throw new Error("boom");
  };
  const later = async () => {
    await tick();
    throw new Error("later");
  };
  const ran: string[] = [];
  const app = new App().after((c) => void ran.push(c.req.path));
  app.get("/before", () => "no", { before: [boom] });
  app.get("/before-async", () => "no", { before: [later] });
  app.get("/handler", boom);
  app.get("/handler-async", later);
  app.get("/after", () => "no", { after: [boom] });
  app.get("/after-async", () => "no", { after: [later] });
  app.get("/onion", () => "no", { use: [boom] });
  app.get("/onion-async", () => "no", { use: [later] });
  app.get("/onion-after-next", () => "no", {
    use: [async (_c, next) => {
      await next();
      throw new Error("unwinding");
    }],
  });
  app.get("/unsendable", () => new Map() as unknown as string);
  app.get("/http-error", () => "no", {
    after: [() => {
      throw new HttpError(418 + 11, "slow down", { headers: { "retry-after": "3" } });
    }],
  });
  app.get("/ok", () => "still serving");
  const paths = [
    ...["/before", "/before-async", "/handler", "/handler-async", "/after", "/after-async"],
    ...["/onion", "/onion-async", "/onion-after-next"],
  ];
  await using t = serve(app);
  await quietly(async () => {
    let first: string | undefined;
    for (const path of paths) {
      for (const a of [await get(t, path), await fetchApp(app, path)]) {
        assertEquals([path, a.status], [path, 500]);
        assertEquals(a.headers.get("content-type"), "application/problem+json");
        first ??= a.body;
        assertEquals(a.body, first);
        assertEquals((await get(t, "/ok")).body, "still serving");
      }
    }
    assertEquals((await get(t, "/unsendable")).status, 500);
    const limited = await get(t, "/http-error");
    assertEquals([limited.status, limited.headers.get("retry-after")], [429, "3"]);
  });
  // The global after-middleware ran on every error answer too.
  for (const path of paths) assert(ran.includes(path), path);
});

Deno.test("after() errors replace the response and the remaining after-middleware still runs", async () => {
  const app = new App()
    .after(() => {
      throw new HttpError(503, "down");
    })
    .after((_c, res) => void res.set("x-last", String(res.status)))
    .get("/", () => "ok");
  await quietly(() =>
    both(app, "/", (a) => {
      assertEquals([a.status, a.headers.get("x-last")], [503, "503"]);
    })
  );
});

Deno.test("use() onions wrap the handler; before runs in registration order and after runs last", async () => {
  const trace: string[] = [];
  const app = new App()
    .use(async (_c, next) => {
      trace.push("onion-1 in");
      const res = await next();
      trace.push(`onion-1 out ${res.status}`);
    })
    .before(() => void trace.push("before-1"))
    .after((_c, res) => void trace.push(`after-1 ${res.headers.get("x-onion")}`))
    .use(async (c, next) => {
      trace.push("onion-2 in");
      await next();
      c.header("x-onion", "2");
      trace.push("onion-2 out");
    })
    .before(() => void trace.push("before-2"));
  app.get("/", () => {
    trace.push("handler");
    return "ok";
  }, {
    before: [() => void trace.push("route-before")],
    use: [(_c, next) => {
      trace.push("route-onion");
      return next();
    }],
    after: [() => void trace.push("route-after")],
  });
  const expected = [
    ...["onion-1 in", "before-1", "onion-2 in", "before-2", "route-before", "route-onion"],
    ...["handler", "onion-2 out", "onion-1 out 200", "after-1 2", "route-after"],
  ];
  await using t = serve(app);
  assertEquals((await get(t, "/")).body, "ok");
  assertEquals(trace.splice(0), expected);
  assertEquals(t.server.stats().hops, 3);
  assertEquals((await fetchApp(app, "/")).body, "ok");
  assertEquals(trace.splice(0), expected);
});

Deno.test("use() onions see early answers and errors as replies from next()", async () => {
  const statuses: number[] = [];
  const app = new App()
    .use(async (_c, next) => void statuses.push((await next()).status))
    .before((c) => c.req.header("x-deny") ? c.text("no", 403) : undefined)
    .use((c, next) => c.req.header("x-short") ? "short" : next());
  app.get("/", () => {
    throw new Error("handler failed");
  });
  await quietly(async () => {
    await using t = serve(app);
    assertEquals((await get(t, "/", { "x-deny": "1" })).status, 403);
    assertEquals((await get(t, "/", { "x-short": "1" })).body, "short");
    assertEquals((await get(t, "/")).status, 500);
  });
  assertEquals(statuses, [403, 200, 500]);
});

Deno.test("use() onion answering synchronously without next() costs no hop", async () => {
  const app = new App()
    .use((c) => c.text("cached", 200))
    .get("/", () => "never");
  await using t = serve(app);
  assertEquals((await get(t, "/")).body, "cached");
  assertEquals(t.server.stats().hops, 0);
});

Deno.test("a const route still runs TypeScript middleware that applies to it", async () => {
  const app = new App()
    .after((_c, res) => void res.set("x-mw", "ran"))
    .get("/const", () => "constant", { const: true });
  await using t = serve(app);
  const a = await get(t, "/const");
  assertEquals([a.body, a.headers.get("x-mw")], ["constant", "ran"]);
  assertEquals(t.server.stats().toJs, 1);
});
