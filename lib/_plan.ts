// A route's middleware chain and handler, compiled once into a plan and run
// with run-length batching: consecutive synchronous steps run in one plain
// loop, and only a step that actually returns a promise costs a hop (an
// await). A chain of sync middleware with a sync handler therefore finishes
// synchronously, inside the drain that delivered the request.

import type { Context } from "./context.ts";
import type { After, Before, Handler, Onion } from "./middleware.ts";
import { errorReply, toReply } from "./_outcome.ts";
import { Reply } from "./reply.ts";

/** One inbound step: before-middleware or onion middleware. */
export type Layer =
  | { kind: "before"; fn: Before }
  | { kind: "onion"; fn: Onion };

/** A compiled chain. */
export interface Plan {
  readonly inbound: readonly Layer[];
  readonly after: readonly After[];
  readonly handler: Handler;
}

/** Counts awaits taken by plans, for `server.stats()`. */
export interface HopCounter {
  hops: number;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise ||
    (value !== null && typeof value === "object" &&
      typeof (value as { then?: unknown }).then === "function");
}

/** Runs a plan; a Reply when every step was synchronous, else a promise. */
export function runPlan(
  plan: Plan,
  c: Context,
  counter: HopCounter,
): Reply | Promise<Reply> {
  let reply: Reply | Promise<Reply>;
  try {
    reply = inbound(plan, c, 0, counter);
  } catch (error) {
    reply = errorReply(error);
  }
  if (reply instanceof Reply) return outbound(plan, c, reply, 0, counter);
  return reply.then(
    (r) => outbound(plan, c, r, 0, counter),
    (error) => outbound(plan, c, errorReply(error), 0, counter),
  );
}

function inbound(
  plan: Plan,
  c: Context,
  from: number,
  counter: HopCounter,
): Reply | Promise<Reply> {
  const layers = plan.inbound;
  for (let i = from; i < layers.length; i++) {
    const layer = layers[i];
    if (layer.kind === "onion") return onion(plan, c, layer.fn, i + 1, counter);
    const out = layer.fn(c);
    if (out === undefined) continue;
    if (isThenable(out)) {
      counter.hops++;
      const next = i + 1;
      return Promise.resolve(out).then((v) =>
        v === undefined ? inbound(plan, c, next, counter) : toReply(v, c)
      );
    }
    return toReply(out, c);
  }
  const out = plan.handler(c);
  if (isThenable(out)) {
    counter.hops++;
    return Promise.resolve(out).then((v) => toReply(v, c));
  }
  return toReply(out, c);
}

function onion(
  plan: Plan,
  c: Context,
  fn: Onion,
  next: number,
  counter: HopCounter,
): Promise<Reply> {
  let inner: Promise<Reply> | undefined;
  const callNext = (): Promise<Reply> => {
    inner ??= Promise.resolve(inbound(plan, c, next, counter)).then((r) => {
      c.res = r;
      return r;
    });
    return inner;
  };
  counter.hops++;
  return Promise.resolve(fn(c, callNext)).then((v): Reply | Promise<Reply> => {
    if (v !== undefined) return toReply(v, c);
    if (inner) return inner.then(() => c.res!);
    throw new Error(
      "An onion middleware neither called next() nor returned a response.",
    );
  });
}

function outbound(
  plan: Plan,
  c: Context,
  reply: Reply,
  from: number,
  counter: HopCounter,
): Reply | Promise<Reply> {
  if (from === 0) c.applyHeaders(reply);
  const after = plan.after;
  for (let i = from; i < after.length; i++) {
    c.res = reply;
    let out: unknown;
    try {
      out = after[i](c, reply);
    } catch (error) {
      reply = errorReply(error);
      continue;
    }
    if (out === undefined) continue;
    if (isThenable(out)) {
      counter.hops++;
      const next = i + 1;
      const current = reply;
      return Promise.resolve(out).then(
        (v) => v === undefined ? current : toReply(v, c),
        errorReply,
      ).then((r) => outbound(plan, c, r, next, counter));
    }
    try {
      const replaced = toReply(out, c);
      if (replaced instanceof Reply) {
        reply = replaced;
      } else {
        counter.hops++;
        const next = i + 1;
        return replaced.then((r) => outbound(plan, c, r, next, counter));
      }
    } catch (error) {
      reply = errorReply(error);
    }
  }
  c.res = reply;
  return reply;
}
