// A route's middleware chain and handler, compiled once into a plan and run
// with run-length batching: consecutive synchronous steps run in one plain
// loop, and only a step that actually returns a promise costs a hop (an
// await). Sync or async is read from what each call returns, never from a
// flag. A chain of sync middleware with a sync handler therefore finishes
// synchronously, inside the drain that delivered the request.
//
// Order: inbound layers (before and onion, global then route, in
// registration order), the handler, onions unwinding, then every
// after-middleware. Whatever the inbound part ends with (the handler's
// answer, an early return, an error reply) goes through the after chain.
// Semantics and numbers: docs/middleware.md.

import type { Context } from "./context.ts";
import type { After, Before, ErrorHook, Handler, Onion } from "./middleware.ts";
import { errorReply, toReply } from "./_outcome.ts";
import { Reply } from "./reply.ts";
import { CONTEXT_STORAGE, requestStorage } from "./async_context.ts";

/** One inbound step: before-middleware or onion middleware. */
export type Layer =
  | { kind: "before"; fn: Before }
  | { kind: "onion"; fn: Onion };

/** A compiled chain. */
export interface Plan {
  readonly inbound: readonly Layer[];
  readonly after: readonly After[];
  readonly handler: Handler;
  /** The app's `onError` hook, when it has one (see `caught`). */
  readonly onError?: ErrorHook;
  /**
   * Whether requests run inside the context storage (`contextStorage()` is
   * among the layers). Worked out on the first run when left unset.
   */
  scoped?: boolean;
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

/**
 * Runs a plan for one request: a Reply when every step was synchronous,
 * else a promise of one. Errors thrown by middleware and handlers become
 * problem+json replies that still pass through the after chain; the server
 * still guards the call (a throw or rejection from here would be a bug in
 * Ferry, and must not stop the batch it runs in).
 */
export function runPlan(
  plan: Plan,
  c: Context,
  counter: HopCounter,
): Reply | Promise<Reply> {
  const scoped = plan.scoped ??= plan.inbound.some((l) => l.fn === CONTEXT_STORAGE);
  return scoped ? requestStorage.run(c, run, plan, c, counter) : run(plan, c, counter);
}

function run(plan: Plan, c: Context, counter: HopCounter): Reply | Promise<Reply> {
  let reply: Reply | Promise<Reply>;
  try {
    reply = inbound(plan, c, 0, counter);
  } catch (error) {
    reply = caught(plan, c, error, counter);
  }
  if (reply instanceof Reply) return outbound(plan, c, reply, 0, counter);
  const out = (r: Reply) => outbound(plan, c, r, 0, counter);
  return reply.then(out, (error) => {
    const r = caught(plan, c, error, counter);
    return r instanceof Reply ? out(r) : r.then(out);
  });
}

/**
 * The reply for an error thrown inbound: the `onError` hook's answer when
 * the plan has one and it answers, else Ferry's problem+json. Never throws;
 * the promise it may return never rejects.
 */
function caught(
  plan: Plan,
  c: Context,
  error: unknown,
  counter: HopCounter,
): Reply | Promise<Reply> {
  const hook = plan.onError;
  if (hook === undefined) return errorReply(error);
  const settle = (value: unknown): Reply | Promise<Reply> => {
    if (value === undefined) return errorReply(error);
    const reply = answer(value, c, counter);
    return reply instanceof Reply ? reply : reply.catch(errorReply);
  };
  try {
    const out = hook(error, c);
    if (!isThenable(out)) return settle(out);
    counter.hops++;
    return Promise.resolve(out).then(settle).catch(errorReply);
  } catch (thrown) {
    return errorReply(thrown);
  }
}

/** A value returned by a step, as a Reply; a Web Response costs one hop. */
function answer(value: unknown, c: Context, counter: HopCounter): Reply | Promise<Reply> {
  const reply = toReply(value, c);
  if (!(reply instanceof Reply)) counter.hops++;
  return reply;
}

/** Runs inbound layers from `from`, then the handler. May throw. */
function inbound(
  plan: Plan,
  c: Context,
  from: number,
  counter: HopCounter,
): Reply | Promise<Reply> {
  const layers = plan.inbound;
  for (let i = from; i < layers.length; i++) {
    const layer = layers[i];
    if (layer.kind === "onion") {
      if (layer.fn === CONTEXT_STORAGE) continue;
      return onion(plan, c, layer.fn, i + 1, counter);
    }
    const out = layer.fn(c);
    if (out === undefined) continue;
    if (isThenable(out)) {
      counter.hops++;
      return inboundAsync(plan, c, out, i + 1, counter);
    }
    return answer(out, c, counter);
  }
  const out = plan.handler(c);
  if (isThenable(out)) {
    counter.hops++;
    return handled(out, c, counter);
  }
  return answer(out, c, counter);
}

/**
 * The inbound chain from its first asynchronous step on: one async
 * function awaiting each step, rather than a `.then` callback (a promise
 * and a closure) per step. Measured on 16 async middleware: see
 * docs/middleware.md. It walks the layers as `inbound` does, awaiting
 * where `inbound` returns: keep the two in step.
 */
async function inboundAsync(
  plan: Plan,
  c: Context,
  pending: PromiseLike<unknown>,
  from: number,
  counter: HopCounter,
): Promise<Reply> {
  const first = await pending;
  if (first !== undefined) return answer(first, c, counter);
  const layers = plan.inbound;
  for (let i = from; i < layers.length; i++) {
    const layer = layers[i];
    if (layer.kind === "onion") {
      if (layer.fn === CONTEXT_STORAGE) continue;
      return onion(plan, c, layer.fn, i + 1, counter);
    }
    let out: unknown = layer.fn(c);
    if (isThenable(out)) {
      counter.hops++;
      out = await out;
    }
    if (out !== undefined) return answer(out, c, counter);
  }
  let out: unknown = plan.handler(c);
  if (isThenable(out)) {
    counter.hops++;
    out = await out;
  }
  return answer(out, c, counter);
}

/** The answer of a handler that returned a promise. */
async function handled(
  pending: PromiseLike<unknown>,
  c: Context,
  counter: HopCounter,
): Promise<Reply> {
  return answer(await pending, c, counter);
}

/**
 * Runs the rest of the inbound chain for an onion's `next()`: the promise
 * never rejects (errors are already replies, as after-middleware sees
 * them) and leaves the reply in `c.res`.
 */
function rest(plan: Plan, c: Context, from: number, counter: HopCounter): Promise<Reply> {
  const keep = (r: Reply): Reply => c.res = r;
  let reply: Reply | Promise<Reply>;
  try {
    reply = inbound(plan, c, from, counter);
  } catch (error) {
    return Promise.resolve(caught(plan, c, error, counter)).then(keep);
  }
  if (reply instanceof Reply) return Promise.resolve(keep(reply));
  return reply.then(keep, (error) => Promise.resolve(caught(plan, c, error, counter)).then(keep));
}

/**
 * One onion layer. An onion that answers synchronously without calling
 * `next()` costs nothing; otherwise it is one hop (the wait for its
 * promise, or for `next()`).
 */
function onion(
  plan: Plan,
  c: Context,
  fn: Onion,
  from: number,
  counter: HopCounter,
): Reply | Promise<Reply> {
  let inner: Promise<Reply> | undefined;
  const next = (): Promise<Reply> => inner ??= rest(plan, c, from, counter);
  const out = fn(c, next);
  if (!isThenable(out)) {
    if (inner === undefined) return answer(out === undefined ? unanswered() : out, c, counter);
    counter.hops++;
    return out === undefined ? inner.then(() => c.res!) : inner.then(() => answer(out, c, counter));
  }
  counter.hops++;
  return Promise.resolve(out).then((v): Reply | Promise<Reply> => {
    if (v !== undefined) return answer(v, c, counter);
    if (inner === undefined) unanswered();
    return inner.then(() => c.res!);
  });
}

function unanswered(): never {
  throw new Error("An onion middleware neither called next() nor returned a response.");
}

/**
 * Runs after-middleware from `from`. Each sees `c.res` and the current
 * reply and may replace it; a throw replaces it with an error reply and
 * the rest of the chain still runs. Never throws.
 */
function outbound(
  plan: Plan,
  c: Context,
  reply: Reply,
  from: number,
  counter: HopCounter,
): Reply | Promise<Reply> {
  if (from === 0) reply = withHeaders(c, reply);
  const after = plan.after;
  for (let i = from; i < after.length; i++) {
    c.res = reply;
    let out: unknown;
    try {
      out = after[i](c, reply);
      if (out === undefined) continue;
      if (isThenable(out)) {
        counter.hops++;
        const next = i + 1;
        const current = reply;
        return Promise.resolve(out).then(
          (v) => v === undefined ? current : answer(v, c, counter),
        ).then(
          (r) => outbound(plan, c, r, next, counter),
          (error) => outbound(plan, c, failed(c, error), next, counter),
        );
      }
      const replaced = answer(out, c, counter);
      if (!(replaced instanceof Reply)) {
        const next = i + 1;
        return replaced.then(
          (r) => outbound(plan, c, r, next, counter),
          (error) => outbound(plan, c, failed(c, error), next, counter),
        );
      }
      reply = replaced;
    } catch (error) {
      reply = failed(c, error);
    }
  }
  // Headers (cookies) added by after-middleware with c.header()/c.setCookie().
  if (after.length > 0 && c.hasNewHeaders(reply)) reply = withHeaders(c, reply);
  c.res = reply;
  return reply;
}

/** Applies `c.header()` headers; a bad header value becomes a 500. */
function withHeaders(c: Context, reply: Reply): Reply {
  try {
    return c.applyHeaders(reply);
  } catch (error) {
    return errorReply(error);
  }
}

/** The reply for an error thrown by after-middleware. */
function failed(c: Context, error: unknown): Reply {
  return withHeaders(c, errorReply(error));
}
