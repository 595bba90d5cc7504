// Errors become problem+json answers and the server keeps serving.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App, HttpError } from "../mod.ts";
import { serve } from "./_helpers.ts";

const PROBLEM = "application/problem+json";

/** Silences the 500 log lines these tests provoke on purpose. */
function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.error;
  console.error = () => {};
  return fn().finally(() => console.error = original);
}

function failing(): App {
  const app = new App();
  app.get("/throw", () => {
    throw new Error("secret database password in /srv/app.ts");
  });
  app.get("/async-throw", async () => {
    await Promise.resolve();
    throw new Error("async secret");
  });
  app.get("/reject", () => Promise.reject(new TypeError("rejected")));
  app.get("/throw-string", () => {
    throw "just a string";
  });
  app.get("/http-error", () => {
    throw new HttpError(401, "log in first", {
      headers: { "www-authenticate": 'Bearer realm="ferry"', "retry-after": "5" },
    });
  });
  app.get("/http-error-async", async () => {
    await Promise.resolve();
    throw new HttpError(429);
  });
  app.post("/json", async (c) => ({ got: await c.req.json() }));
  app.get("/number", () => 42 as unknown as string);
  app.get("/map", () => new Map([["a", 1]]) as unknown as string);
  app.get("/class", () => new (class Point {})() as unknown as string);
  app.get("/bigint", () => 1n as unknown as string);
  app.get("/ok", () => "still serving");
  return app;
}

Deno.test("a thrown error answers 500 problem+json without the stack", async () => {
  await using t = serve(failing());
  await quietly(async () => {
    for (const path of ["/throw", "/async-throw", "/reject", "/throw-string"]) {
      const res = await fetch(`${t.base}${path}`);
      assertEquals(res.status, 500, path);
      assertEquals(res.headers.get("content-type"), PROBLEM, path);
      const text = await res.text();
      assert(!text.includes("secret"), `${path} leaked the message: ${text}`);
      assert(!text.includes(".ts"), `${path} leaked a stack: ${text}`);
      assert(!/\bat\s/.test(text), `${path} leaked a stack: ${text}`);
      const body = JSON.parse(text);
      assertEquals(body.status, 500);
      assertEquals(body.title, "Internal Server Error");
      assertEquals(body.type, "about:blank");
    }
  });
  assertEquals(await (await fetch(`${t.base}/ok`)).text(), "still serving");
  assertEquals(t.server.stats().slotsInUse, 0);
});

Deno.test("HttpError answers with its status, message and headers", async () => {
  await using t = serve(failing());
  const res = await fetch(`${t.base}/http-error`);
  assertEquals(res.status, 401);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  assertEquals(res.headers.get("www-authenticate"), 'Bearer realm="ferry"');
  assertEquals(res.headers.get("retry-after"), "5");
  assertEquals(await res.json(), {
    type: "about:blank",
    title: "Unauthorized",
    status: 401,
    detail: "log in first",
  });
  const later = await fetch(`${t.base}/http-error-async`);
  assertEquals(later.status, 429);
  assertEquals((await later.json()).detail, "Too Many Requests");
});

Deno.test("c.req.json() on a bad body answers 400", async () => {
  await using t = serve(failing());
  for (const body of ["{not json", "", '{"a":1}}']) {
    const res = await fetch(`${t.base}/json`, { method: "POST", body });
    assertEquals(res.status, 400, body);
    assertEquals(res.headers.get("content-type"), PROBLEM);
    const problem = await res.json();
    assertEquals(problem.status, 400);
    assert(problem.detail.startsWith("The request body is not valid JSON"), problem.detail);
  }
});

Deno.test("an unsupported return value answers 500 naming its type", async () => {
  await using t = serve(failing());
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.map(String).join(" "));
  try {
    for (
      const [path, name] of [["/number", "a number"], ["/map", "a Map"], ["/class", "a Point"], [
        "/bigint",
        "a bigint",
      ]]
    ) {
      const res = await fetch(`${t.base}${path}`);
      assertEquals(res.status, 500, path);
      assertEquals(res.headers.get("content-type"), PROBLEM, path);
      const detail = (await res.json()).detail as string;
      assert(detail.startsWith(`A handler returned ${name},`), detail);
      assert(
        logged.some((line) => line.includes(`returned ${name}`)),
        `no log names ${name}: ${logged.join("\n")}`,
      );
    }
  } finally {
    console.error = original;
  }
});

Deno.test("HttpError() refuses a status outside 400-599", () => {
  for (const status of [200, 399, 600, 404.5]) {
    let threw = false;
    try {
      new HttpError(status);
    } catch (error) {
      threw = error instanceof RangeError;
    }
    assertEquals(threw, true, String(status));
  }
});

Deno.test("errors in middleware answer problem+json and keep the server serving", async () => {
  const app = new App();
  app.before((c) => {
    if (c.req.path === "/guarded") throw new HttpError(403, "no entry");
  });
  app.after((c) => {
    if (c.req.path === "/after-throws") throw new Error("after failed");
  });
  app.get("/guarded", () => "never");
  app.get("/after-throws", () => "replaced by the error");
  app.get("/ok", () => "ok");
  await using t = serve(app);
  const guarded = await fetch(`${t.base}/guarded`);
  assertEquals(guarded.status, 403);
  assertEquals((await guarded.json()).detail, "no entry");
  const after = await quietly(() => fetch(`${t.base}/after-throws`));
  assertEquals(after.status, 500);
  assertEquals(after.headers.get("content-type"), PROBLEM);
  await after.body?.cancel();
  assertEquals(await (await fetch(`${t.base}/ok`)).text(), "ok");
});

Deno.test("a problem answer keeps application/problem+json over c.header()", {
  // Known bug: _plan.ts outbound() applies c.header() values to the error
  // reply too, so a content-type set before the throw labels the
  // problem+json body (text/html here), on both paths.
  ignore: false,
}, async () => {
  const app = new App();
  app.get("/", (c) => {
    c.header("content-type", "text/html; charset=utf-8");
    c.header("x-kept", "yes");
    throw new HttpError(400, "bad");
  });
  await using t = serve(app);
  const res = await fetch(`${t.base}/`);
  assertEquals(res.status, 400);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  assertEquals(res.headers.get("x-kept"), "yes");
  await res.body?.cancel();
});
