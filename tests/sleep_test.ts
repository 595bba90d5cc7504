// Stream sleeps (lib/_sleep.ts) and the commit of what the streams they
// wake write: ordering and counters only, no timing assertions.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { afterWakes, sleepFor } from "../lib/_sleep.ts";
import { serve, until } from "./_helpers.ts";

Deno.test("afterWakes() runs after the code a sleep queue woke, and only during a wake", async () => {
  assertEquals(afterWakes(() => {}), false);
  const order: string[] = [];
  const owner = new Set<() => void>();
  let after!: () => void;
  const ran = new Promise<void>((resolve) => after = resolve);
  await new Promise<void>((resolve) => sleepFor(3, resolve, owner));
  order.push("woke");
  assert(afterWakes(() => {
    order.push("after");
    after();
  }));
  order.push("wrote");
  await ran;
  assertEquals(order, ["woke", "wrote", "after"]);
  assertEquals(owner.size, 0);
  assertEquals(afterWakes(() => {}), false);
});

Deno.test("c.sse() delivers events written right after a sleep and many microtask hops later", async () => {
  const app = new App();
  const EVENTS = 10;
  app.get("/late", (c) =>
    c.sse(async (s) => {
      for (let i = 0; i < EVENTS && !s.closed; i++) {
        await s.sleep(2);
        // Odd events are written long after the wake-up's commit ran:
        // they go with a commit of their own.
        if (i % 2 === 1) { for (let hop = 0; hop < 50; hop++) await null; }
        await s.send({ id: String(i), data: `event ${i}` });
      }
    }));
  await using t = serve(app);
  const texts = await Promise.all(
    Array.from({ length: 20 }, async () => await (await fetch(`${t.base}/late`)).text()),
  );
  const expected = Array.from({ length: EVENTS }, (_, i) => `id: ${i}\ndata: event ${i}\n\n`)
    .join("");
  for (const text of texts) assertEquals(text, expected);
  assert(await until(() => t.server.stats().streamsOpen === 0));
});
