import type { Context } from "./context.ts";
import type { Reply } from "./reply.ts";
import type { Env } from "./types.ts";

/**
 * What a handler may return: a string (text), a plain object or array
 * (JSON), bytes, a Web `Response`, a `Reply` from `c.json()`/`c.text()`,
 * or nothing (204) — or a promise of any of these.
 */
export type HandlerResult =
  | string
  | Reply
  | Response
  | Uint8Array
  | ArrayBuffer
  | Record<string, unknown>
  | unknown[]
  // Any object type, so interface-typed values type-check; a class
  // instance without toJSON still gets the run-time message.
  | object
  | null
  | undefined
  | void;

/**
 * A route handler.
 *
 * @example
 * ```ts
 * import { App, type Handler } from "@ferry/ferry";
 * const hello: Handler = (c) => `hello ${c.params.name}`;
 * new App().get("/hello/:name", hello);
 * ```
 */
export type Handler<E extends Env = Env, P extends string = string> = (
  c: Context<E, P>,
) => HandlerResult | Promise<HandlerResult>;

/**
 * Middleware run before the handler. Return nothing to continue, or a
 * response (anything a handler may return) to answer early: the rest of
 * the before chain and the handler are skipped, headers set with
 * `c.header()` still apply and every after-middleware still runs.
 *
 * Sync or async is read from what the function returns on each call (an
 * `async` function returns a promise), never from a flag. Consecutive sync
 * middleware run in one plain loop; each promise returned costs one hop.
 * See docs/middleware.md.
 *
 * @example
 * ```ts
 * import { App, type Before } from "@ferry/ferry";
 * const auth: Before = (c) => {
 *   if (!c.req.header("authorization")) return c.text("unauthorized", 401);
 * };
 * new App().before(auth);
 * ```
 */
export type Before<E extends Env = Env, P extends string = string> = (
  c: Context<E, P>,
) => HandlerResult | Promise<HandlerResult>;

/**
 * Middleware run once a response exists (from the handler, an early
 * return, or an error), after every onion has unwound, global ones first,
 * in registration order. It sees the same `c` (so `c.req` and values from
 * `c.set()`) and the response as `res` (also `c.res`). Change `res` in
 * place, or return a new response (anything a handler may return). If it
 * throws, the response becomes the error's problem+json reply and the
 * remaining after-middleware still runs.
 *
 * @example
 * ```ts
 * import { App, type After } from "@ferry/ferry";
 * const tag: After = (_c, res) => { res.headers.set("x-served-by", "ferry"); };
 * new App().after(tag);
 * ```
 */
export type After<E extends Env = Env, P extends string = string> = (
  c: Context<E, P>,
  res: Reply,
) => HandlerResult | Promise<HandlerResult>;

/**
 * Onion middleware, as in Hono and Koa: `await next()` runs the rest of
 * the inbound chain (later before and onion middleware and the handler) and
 * gives its response, also left in `c.res`. `next()` never rejects: an
 * error inside becomes its problem+json reply, as after-middleware would
 * see it. Return nothing to keep that response, or a new one. Costs a hop
 * unless it answers synchronously without calling `next()`; prefer
 * `Before`/`After` when you do not need to wrap the handler.
 *
 * @example
 * ```ts
 * import { App, type Onion } from "@ferry/ferry";
 * const timing: Onion = async (c, next) => {
 *   const t = performance.now();
 *   await next();
 *   c.header("x-time", String(performance.now() - t));
 * };
 * new App().use(timing);
 * ```
 */
export type Onion<E extends Env = Env, P extends string = string> = (
  c: Context<E, P>,
  next: () => Promise<Reply>,
) => HandlerResult | Promise<HandlerResult>;

/**
 * Per-route options.
 *
 * @example
 * ```ts
 * import { App, type RouteOptions } from "@ferry/ferry";
 * const adminOnly: RouteOptions = {
 *   before: [(c) => c.req.header("x-admin") ? undefined : c.text("no", 403)],
 * };
 * new App().get("/admin", () => "ok", adminOnly);
 * ```
 */
export interface RouteOptions<E extends Env = Env, P extends string = string> {
  /**
   * Before-middleware for this route, run after every global before and
   * onion middleware. @default []
   */
  before?: Before<E, P>[];
  /** After-middleware for this route, run after the global ones. @default [] */
  after?: After<E, P>[];
  /** Onion middleware for this route, run after its `before`. @default [] */
  use?: Onion<E, P>[];
  /**
   * Compute the response once, at `listen()`, and let Rust serve it with no
   * crossing. The handler must be synchronous and the path static. If any
   * TypeScript middleware applies to the route, it is served by TypeScript
   * as usual so that middleware is never bypassed; native middleware always
   * applies. @default false
   */
  const?: boolean;
  /**
   * This route's request body limit in bytes, instead of `maxBodyBytes`
   * (413 past it: before reading when the length is declared, as soon as
   * it is crossed otherwise). Large uploads stream (`c.req.body`).
   * @default {the listen() option `maxBodyBytes`}
   */
  bodyLimit?: number;
}

/**
 * An error hook (`app.onError`): gets what a before-middleware, onion or
 * handler threw (an `HttpError` too) and may answer with anything a handler
 * may return. Returning nothing keeps Ferry's problem+json answer; a throw
 * from the hook itself becomes that 500. The nearest app's hook applies: a
 * mounted sub-app's own, else its parent's. After-middleware still runs on
 * the answer.
 *
 * @example
 * ```ts
 * import { App, HttpError, type ErrorHook } from "@ferry/ferry";
 * const onError: ErrorHook = (err, c) =>
 *   c.json({ error: err instanceof HttpError ? err.message : "oops" }, 500);
 * new App().onError(onError);
 * ```
 */
export type ErrorHook<E extends Env = Env> = (
  err: unknown,
  c: Context<E>,
) => HandlerResult | Promise<HandlerResult>;
