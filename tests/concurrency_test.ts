// Many requests at once: every answer reaches its own request (no slot
// mix-ups), and they cross to JavaScript in batches.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { serve } from "./_helpers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function mixed(): App {
  const app = new App();
  app.get("/sync/:n", (c) => `sync ${c.params.n} ${c.query.get("k")}`);
  app.get("/json/:n", (c) => ({ n: Number(c.params.n), h: c.req.header("x-n") }));
  app.get("/async/:n", async (c) => {
    const n = Number(c.params.n);
    await sleep(n % 7); // finish out of order
    return c.json({ async: n, h: c.req.header("x-n") });
  });
  app.post("/echo/:n", async (c) => {
    const body = await c.req.text();
    if (Number(c.params.n) % 3 === 0) await sleep(1);
    return `${c.params.n}:${body}`;
  });
  app.get("/bytes/:n", (c) => {
    const n = Number(c.params.n);
    return new Uint8Array(5000).fill(n & 0xff);
  });
  return app;
}

interface Case {
  url: string;
  init: RequestInit;
  check(res: Response): Promise<void>;
}

function caseFor(base: string, i: number): Case {
  const headers = { "x-n": String(i) };
  switch (i % 5) {
    case 0:
      return {
        url: `${base}/sync/${i}?k=${i * 2}`,
        init: {},
        check: async (res) => assertEquals(await res.text(), `sync ${i} ${i * 2}`),
      };
    case 1:
      return {
        url: `${base}/json/${i}`,
        init: { headers },
        check: async (res) => assertEquals(await res.json(), { n: i, h: String(i) }),
      };
    case 2:
      return {
        url: `${base}/async/${i}`,
        init: { headers },
        check: async (res) => assertEquals(await res.json(), { async: i, h: String(i) }),
      };
    case 3: {
      // Every sixth echo overflows the 4 KiB request slot.
      const body = `body-${i}-`.repeat(i % 6 === 3 ? 600 : 3);
      return {
        url: `${base}/echo/${i}`,
        init: { method: "POST", body },
        check: async (res) => assertEquals(await res.text(), `${i}:${body}`),
      };
    }
    default:
      return {
        url: `${base}/bytes/${i}`,
        init: {},
        check: async (res) => {
          const bytes = new Uint8Array(await res.arrayBuffer());
          assertEquals(bytes.length, 5000);
          assert(bytes.every((b) => b === (i & 0xff)), `bytes of ${i} are mixed up`);
        },
      };
  }
}

Deno.test("listen() answers 2,000 concurrent requests each with its own body", async () => {
  await using t = serve(mixed());
  const total = 2000;
  const results = await Promise.all(
    Array.from({ length: total }, async (_, i) => {
      const c = caseFor(t.base, i);
      const res = await fetch(c.url, c.init);
      assertEquals(res.status, 200, c.url);
      await c.check(res);
      return i;
    }),
  );
  assertEquals(results.length, total);
  const stats = t.server.stats();
  assertEquals(stats.toJs, total);
  assertEquals(stats.requests, total);
  assertEquals(stats.rejectedFull, 0);
  assertEquals(stats.slotsInUse, 0);
  assert(stats.meanBatch > 1, `meanBatch ${stats.meanBatch}`);
  assert(stats.ffiCallsPerRequest < 1, `ffiCallsPerRequest ${stats.ffiCallsPerRequest}`);
});

Deno.test("listen() with few slots answers 503 with Retry-After, never mixes bodies", async () => {
  await using t = serve(mixed(), { slots: 8 });
  const total = 300;
  let ok = 0;
  let busy = 0;
  await Promise.all(
    Array.from({ length: total }, async (_, i) => {
      const res = await fetch(`${t.base}/async/${i}`, { headers: { "x-n": String(i) } });
      if (res.status === 503) {
        busy++;
        assertEquals(res.headers.get("retry-after"), "1");
        // Only a full arena may refuse: a request JavaScript accepted must
        // get its own answer (not "the server closed before ...").
        assertEquals((await res.json()).detail, "all request slots are busy; retry shortly");
        return;
      }
      assertEquals(res.status, 200);
      assertEquals(await res.json(), { async: i, h: String(i) });
      ok++;
    }),
  );
  assertEquals(ok + busy, total);
  const stats = t.server.stats();
  assertEquals(stats.rejectedFull, busy);
  assertEquals(stats.toJs, ok);
  assertEquals(stats.slotsInUse, 0);
});

Deno.test("listen() answers sequential keep-alive requests each with its own body", async () => {
  await using t = serve(mixed());
  for (let i = 0; i < 100; i++) {
    const c = caseFor(t.base, i);
    const res = await fetch(c.url, c.init);
    await c.check(res);
  }
  assertEquals(t.server.stats().slotsInUse, 0);
});
