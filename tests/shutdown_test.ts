// Graceful shutdown: in-flight requests finish, nothing leaks.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App, type ListenOptions } from "../mod.ts";
import { rawExchange } from "./_helpers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function slowApp(gate: Promise<void>): App {
  const app = new App();
  app.get("/slow/:n", async (c) => {
    await gate;
    await sleep(Number(c.params.n) % 20);
    return { n: c.params.n, h: c.req.header("x-n") ?? null };
  });
  app.post("/slow-echo/:n", async (c) => {
    const body = await c.req.text();
    await gate;
    return `${c.params.n}:${body}`;
  });
  app.get("/fast", () => "fast");
  return app;
}

/** Polls (bounded) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await sleep(5);
  assert(done(), `timed out waiting for ${what}`);
}

function listen(app: App, options: ListenOptions = {}) {
  const server = app.listen({ hostname: "127.0.0.1", port: 0, ...options });
  return { server, base: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("shutdown() lets every in-flight request finish", async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const { server, base } = listen(slowApp(gate));
  const total = 60;
  const answers = Array.from(
    { length: total },
    (_, i) =>
      i % 2 === 0
        ? fetch(`${base}/slow/${i}`, { headers: { "x-n": String(i) } }).then(async (r) => ({
          status: r.status,
          body: await r.text(),
        }))
        : fetch(`${base}/slow-echo/${i}`, { method: "POST", body: "x".repeat(i * 100) }).then(
          async (r) => ({ status: r.status, body: await r.text() }),
        ),
  );
  await until(() => server.stats().toJs === total, "every request to reach JavaScript");
  assertEquals(server.stats().slotsInUse, total);
  const stopped = server.shutdown({ deadlineMs: 10_000 });
  open();
  await stopped;
  const got = await Promise.all(answers);
  got.forEach(({ status, body }, i) => {
    assertEquals(status, 200, `request ${i}`);
    if (i % 2 === 0) assertEquals(JSON.parse(body), { n: String(i), h: String(i) });
    else assertEquals(body, `${i}:${"x".repeat(i * 100)}`);
  });
  const stats = server.stats();
  assertEquals(stats.slotsInUse, 0);
  assertEquals(stats.connections, 0);
  assertEquals(stats.toJs, total);
  assertEquals(stats.abandoned, 0);
});

Deno.test("shutdown() refuses new connections and is idempotent", async () => {
  const { server, base } = listen(slowApp(Promise.resolve()));
  assertEquals(await (await fetch(`${base}/fast`)).text(), "fast");
  const first = server.shutdown();
  assert(server.shutdown() === first, "a second shutdown() gives the same promise");
  await first;
  await server.finished;
  let refused = false;
  try {
    await (await fetch(`${base}/fast`)).body?.cancel();
  } catch {
    refused = true;
  }
  assertEquals(refused, true);
  assertEquals(server.stats().slotsInUse, 0);
});

Deno.test("shutdown() closes idle keep-alive connections", async () => {
  const { server, base } = listen(slowApp(Promise.resolve()));
  // Several pooled keep-alive connections, idle once answered.
  await Promise.all(
    Array.from(
      { length: 8 },
      async () => assertEquals(await (await fetch(`${base}/fast`)).text(), "fast"),
    ),
  );
  await server.shutdown({ deadlineMs: 10_000 });
  assertEquals(server.stats().connections, 0);
  assertEquals(server.stats().slotsInUse, 0);
});

/** GETs `path`; a failed fetch is status 0 with the error in `detail`. */
function ask(base: string, path: string) {
  return fetch(`${base}${path}`).then(
    async (res) => ({
      status: res.status,
      retry: res.headers.get("retry-after"),
      type: res.headers.get("content-type"),
      detail: await res.text(),
    }),
    (error) => ({ status: 0, retry: null, type: null, detail: String(error.cause ?? error) }),
  );
}

/** Asserts the 503 a straggler gets when shutdown() passes its deadline. */
function assertUnavailable(answer: Awaited<ReturnType<typeof ask>>): void {
  const { status, retry, type, detail } = answer;
  assertEquals({ status, retry, type }, {
    status: 503,
    retry: "1",
    type: "application/problem+json",
  }, detail);
  assertEquals(JSON.parse(detail).status, 503);
}

for (const engine of ["pump", "thread"] as const) {
  Deno.test(`shutdown() past its deadline answers the stragglers 503 (${engine} engine)`, async () => {
    const never = new Promise<void>(() => {});
    const { server, base } = listen(slowApp(never), { engine });
    const pending = ask(base, "/slow/1");
    const raw = rawExchange(server.addr.port, "GET /slow/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => server.stats().toJs === 2, "the requests to reach JavaScript");
    const logged: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => logged.push(args.map(String).join(" "));
    try {
      await server.shutdown({ deadlineMs: 50 });
    } finally {
      console.error = original;
    }
    // The operator learns that requests were cut, and what to change.
    assert(
      logged.some((line) => line.includes("2 request(s)") && line.includes("shutdownDeadlineMs")),
      logged.join("\n"),
    );
    assertUnavailable(await pending);
    const head = (await raw).split("\r\n\r\n")[0].toLowerCase().split("\r\n");
    assertEquals(head[0], "http/1.1 503 service unavailable");
    assert(head.includes("connection: close"), head.join("\n"));
    assert(head.includes("retry-after: 1"), head.join("\n"));
    assertEquals(server.stats().slotsInUse, 0);
    assertEquals(server.stats().connections, 0);
  });

  Deno.test(`shutdown() ignores a handler answering after its 503 (${engine} engine)`, async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    const app = slowApp(gate);
    let late = 0;
    app.get("/late", async () => {
      await gate;
      late++;
      return "too late";
    });
    // Runs after the 503s went out and before the native server is freed:
    // the handlers answer now, too late, and must be ignored.
    app.onShutdown(async () => {
      open();
      await until(() => late === 1, "the late handler to answer");
      await sleep(20);
    });
    const { server, base } = listen(app, { engine });
    const pending = [ask(base, "/slow/1"), ask(base, "/late")];
    await until(() => server.stats().toJs === 2, "the requests to reach JavaScript");
    await server.shutdown({ deadlineMs: 50 });
    (await Promise.all(pending)).forEach(assertUnavailable);
    assertEquals(late, 1);
    assertEquals(server.stats().slotsInUse, 0);
    assertEquals(server.stats().connections, 0);
  });
}

Deno.test("listen({ signal }) shuts down gracefully on abort", async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const controller = new AbortController();
  const server = slowApp(gate).listen({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
  });
  const answer = fetch(`http://127.0.0.1:${server.addr.port}/slow/3`);
  await until(() => server.stats().toJs === 1, "the request to reach JavaScript");
  controller.abort();
  open();
  await server.finished;
  const res = await answer;
  assertEquals(res.status, 200);
  assertEquals(await res.json(), { n: "3", h: null });
  assertEquals(server.stats().slotsInUse, 0);
});
