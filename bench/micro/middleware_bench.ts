// Dispatch cost of middleware chains: runPlan() on a fake request, with no
// server, socket or FFI call, so only the chain runner is measured.
//
//   deno bench -A bench/micro/middleware_bench.ts
//
// Each iteration runs REQUESTS requests one after another (a fresh Context
// each), so time/iter in µs is the cost per request in units of 10 ns.
// One request per iteration is below the timer's resolution for the async
// group.
//
// Numbers and reading: docs/middleware.md.

import { Context } from "../../lib/context.ts";
import type { After, Before, Handler, Onion } from "../../lib/middleware.ts";
import { type Layer, type Plan, runPlan } from "../../lib/_plan.ts";
import { contextStorage } from "../../lib/async_context.ts";
import type { RequestSource } from "../../lib/_source.ts";

const source: RequestSource = {
  method: () => "GET",
  path: () => "/",
  query: () => "",
  paramValues: () => [],
  headerText: () => "",
  body: () => new Uint8Array(),
  remote: () => "",
  signal: () => new AbortController().signal,
  bodyStream: () => null,
};

const REQUESTS = 100;
const counter = { hops: 0 };
const handler: Handler = (c) => c.text("ok");
const syncBefore: Before = (c) => c.set("k", 1);
const syncAfter: After = () => {};
const asyncBefore: Before = async () => {};
const onionStep: Onion = async (_c, next) => {
  await next();
};

function plan(inbound: Layer[], after: After[] = [], h: Handler = handler): Plan {
  return { inbound, after, handler: h };
}
const befores = (n: number, fn: Before = syncBefore): Layer[] =>
  Array.from({ length: n }, () => ({ kind: "before", fn }));
const afters = (n: number): After[] => Array.from({ length: n }, () => syncAfter);
const onions = (n: number): Layer[] =>
  Array.from({ length: n }, () => ({ kind: "onion", fn: onionStep }));
const scoped: Layer = { kind: "onion", fn: contextStorage() };

function runSync(p: Plan): void {
  for (let i = 0; i < REQUESTS; i++) {
    const reply = runPlan(p, new Context(source, []), counter);
    if (reply instanceof Promise) throw new Error("expected a synchronous plan");
  }
}

async function runAsync(p: Plan): Promise<void> {
  for (let i = 0; i < REQUESTS; i++) await runPlan(p, new Context(source, []), counter);
}

const sync: [string, Plan][] = [
  ["0 middleware", plan([])],
  ["1 sync before", plan(befores(1))],
  ["4 sync before", plan(befores(4))],
  ["16 sync before", plan(befores(16))],
  ["16 sync before + 16 sync after", plan(befores(16), afters(16))],
  ["contextStorage + 0 middleware", plan([scoped])],
  ["contextStorage + 16 sync before + 16 sync after", plan([scoped, ...befores(16)], afters(16))],
];
for (const [name, p] of sync) {
  Deno.bench({ name, group: "sync", baseline: name === "0 middleware", fn: () => runSync(p) });
}

const mixed = [...befores(2), ...befores(1, asyncBefore), ...befores(2)];
const async: [string, Plan][] = [
  ["async handler, 0 middleware (1 hop)", plan([], [], (c) => Promise.resolve(c.text("ok")))],
  ["1 async before (1 hop)", plan(befores(1, asyncBefore))],
  ["[sync, sync, async, sync, sync] (1 hop)", plan(mixed)],
  ["16 async before (16 hops)", plan(befores(16, asyncBefore))],
  ["1 onion (1 hop)", plan(onions(1))],
  ["4 onions (4 hops)", plan(onions(4))],
  ["16 onions (16 hops)", plan(onions(16))],
];
for (const [name, p] of async) {
  Deno.bench({
    name,
    group: "async",
    baseline: name.startsWith("async handler"),
    // Deno.bench treats a function as async only if it is an `async`
    // function: one that merely returns a promise would never be awaited.
    fn: async () => {
      await runAsync(p);
    },
  });
}
