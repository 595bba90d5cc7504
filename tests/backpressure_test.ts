// Backpressure: a full slot arena answers 503 with Retry-After instead of
// queueing without bound, and recovers once handlers finish.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { serve } from "./_helpers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls (bounded) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !done(); i++) await sleep(5);
  assert(done(), `gave up waiting for ${what}`);
}

function gatedApp(gate: Promise<void>, started: { n: number }): App {
  const app = new App();
  app.get("/held/:n", async (c) => {
    started.n++;
    await gate;
    return `held ${c.params.n}`;
  });
  app.post("/held-echo/:n", async (c) => {
    const body = await c.req.text();
    started.n++;
    await gate;
    return `${c.params.n}:${body}`;
  });
  app.get("/free", () => "free");
  return app;
}

Deno.test("listen() with 4 slots answers 503 with Retry-After beyond them, then recovers", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const started = { n: 0 };
  await using t = serve(gatedApp(gate, started), { slots: 4 });
  const pending = Array.from({ length: 10 }, (_, i) => fetch(`${t.base}/held/${i}`));
  // Four handlers hold the four slots; the other six are refused at once.
  await until(() => started.n === 4, "four handlers to start");
  await until(() => t.server.stats().rejectedFull === 6, "six refusals");
  assertEquals(t.server.stats().slotsInUse, 4);
  release();
  const answers = await Promise.all(
    pending.map(async (p, i) => {
      const res = await p;
      return {
        i,
        status: res.status,
        retry: res.headers.get("retry-after"),
        text: await res.text(),
      };
    }),
  );
  const served = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 503);
  assertEquals(served.length + refused.length, 10);
  assertEquals(served.length, 4);
  for (const a of served) assertEquals(a.text, `held ${a.i}`);
  for (const a of refused) {
    assertEquals(a.retry, "1");
    assertEquals(JSON.parse(a.text).status, 503);
  }
  assertEquals(started.n, 4);
  const stats = t.server.stats();
  assertEquals(stats.rejectedFull, 6);
  assertEquals(stats.slotsInUse, 0);
  // Afterwards every slot is free again: ten more, four at a time, all served.
  for (let round = 0; round < 3; round++) {
    const again = await Promise.all(
      Array.from({ length: 4 }, (_, i) => fetch(`${t.base}/held/${round * 4 + i}`)),
    );
    for (const [i, res] of again.entries()) {
      assertEquals([res.status, await res.text()], [200, `held ${round * 4 + i}`]);
    }
  }
  assertEquals(await (await fetch(`${t.base}/free`)).text(), "free");
  assertEquals(t.server.stats().rejectedFull, 6);
  assertEquals(t.server.stats().slotsInUse, 0);
});

Deno.test("a full arena refuses bodies with 503 too, and never mixes them up", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const started = { n: 0 };
  await using t = serve(gatedApp(gate, started), { slots: 2 });
  const pending = Array.from(
    { length: 8 },
    (_, i) =>
      fetch(`${t.base}/held-echo/${i}`, { method: "POST", body: `body ${i}`.repeat(i + 1) }),
  );
  await until(() => started.n === 2, "two handlers to start");
  await until(() => t.server.stats().rejectedFull === 6, "six refusals");
  release();
  let served = 0;
  for (const [i, p] of pending.entries()) {
    const res = await p;
    if (res.status === 200) {
      served++;
      assertEquals(await res.text(), `${i}:${`body ${i}`.repeat(i + 1)}`);
    } else {
      assertEquals([res.status, res.headers.get("retry-after")], [503, "1"]);
      await res.body?.cancel();
    }
  }
  assertEquals(served, 2);
  assertEquals(t.server.stats().slotsInUse, 0);
  assertEquals(await (await fetch(`${t.base}/free`)).text(), "free");
});

Deno.test("routes answered by Rust alone still work while every slot is held", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const started = { n: 0 };
  await using t = serve(gatedApp(gate, started), { slots: 1 });
  const held = fetch(`${t.base}/held/0`);
  await until(() => started.n === 1, "the handler to start");
  // 404 and 405 need no slot.
  const missing = await fetch(`${t.base}/nowhere`);
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
  const wrong = await fetch(`${t.base}/free`, { method: "DELETE" });
  assertEquals(wrong.status, 405);
  await wrong.body?.cancel();
  const busy = await fetch(`${t.base}/free`);
  assertEquals([busy.status, busy.headers.get("retry-after")], [503, "1"]);
  await busy.body?.cancel();
  release();
  assertEquals(await (await held).text(), "held 0");
  assertEquals(await (await fetch(`${t.base}/free`)).text(), "free");
  assertEquals(t.server.stats().slotsInUse, 0);
});
