// Issue #15, part 3: onError and notFound, per app and per mounted app.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { App, HttpError } from "../mod.ts";
import { serve } from "./_helpers.ts";

function hookApp(): App {
  const api = new App();
  api.get("/boom", () => {
    throw new Error("api boom");
  });
  api.onError((err, c) => c.json({ api: (err as Error).message }, 503));
  api.notFound((c) => c.json({ api: "no such endpoint", path: c.req.path }));
  const app = new App();
  app.get("/boom", () => {
    throw new Error("root boom");
  });
  app.get("/teapot", () => {
    throw new HttpError(418, "short and stout");
  });
  app.get("/async-boom", async () => {
    await Promise.resolve();
    throw new Error("later");
  });
  app.get("/hook-throws", () => {
    throw new Error("first");
  });
  app.onError((err, c) => {
    if (err instanceof HttpError) return c.text(`http ${err.status}`, err.status);
    if ((err as Error).message === "first") throw new Error("the hook failed");
    return c.text(`root: ${(err as Error).message}`, 500);
  });
  app.notFound((c) => c.text(`root 404 ${c.req.path}`));
  app.after((c) => void c.header("x-after", "ran"));
  app.route("/api", api);
  return app;
}

async function both(app: App, path: string, check: (res: Response) => Promise<void>) {
  await using t = serve(app);
  const original = console.error;
  console.error = () => {};
  try {
    await check(await fetch(t.base + path));
    await check(await app.request(path));
  } finally {
    console.error = original;
  }
}

Deno.test("app.onError() answers thrown errors, sync and async, and after-middleware still runs", async () => {
  const app = hookApp();
  for (
    const [path, status, text] of [
      ["/boom", 500, "root: root boom"],
      ["/async-boom", 500, "root: later"],
      ["/teapot", 418, "http 418"],
    ] as const
  ) {
    await both(app, path, async (res) => {
      assertEquals([res.status, await res.text()], [status, text], path);
      assertEquals(res.headers.get("x-after"), "ran");
    });
  }
});

Deno.test("an onError hook that throws gives the problem+json 500", async () => {
  await both(hookApp(), "/hook-throws", async (res) => {
    assertEquals(res.status, 500);
    assertEquals(res.headers.get("content-type"), "application/problem+json");
    await res.body?.cancel();
  });
});

Deno.test("a mounted app's onError and notFound apply under its prefix only", async () => {
  const app = hookApp();
  await both(app, "/api/boom", async (res) => {
    assertEquals([res.status, await res.json()], [503, { api: "api boom" }]);
  });
  for (const path of ["/api/nope", "/api/a/b", "/api/", "/api"]) {
    await both(app, path, async (res) => {
      assertEquals(res.status, 404, path);
      assertEquals(await res.json(), { api: "no such endpoint", path }, path);
    });
  }
  for (const path of ["/nope", "/", "/x/y"]) {
    await both(app, path, async (res) => {
      assertEquals([res.status, await res.text()], [404, `root 404 ${path}`]);
      assertEquals(res.headers.get("x-after"), "ran", "middleware runs on notFound");
    });
  }
});

Deno.test("without notFound, an unmatched path is answered in Rust with no crossing", async () => {
  const app = new App().get("/", () => "hi");
  await using t = serve(app);
  const res = await fetch(`${t.base}/nope`);
  assertEquals(res.status, 404);
  await res.body?.cancel();
  const stats = t.server.stats();
  assertEquals([stats.toJs, stats.native], [0, 1]);
});

Deno.test("notFound keeps 405 for a known path and a user wildcard wins over it", async () => {
  const app = new App().post("/form", () => "posted").get("/files/*path", (c) => c.params.path);
  app.notFound(() => "custom");
  await both(app, "/form", async (res) => {
    assertEquals(res.status, 405);
    await res.body?.cancel();
  });
  await both(app, "/files/a", async (res) => assertEquals(await res.text(), "a"));
});
