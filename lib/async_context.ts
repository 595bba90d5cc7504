// Per-request async context, opt-in. Entering an AsyncLocalStorage costs
// ~0.3 µs per request on Deno 2.9 (0.15 µs at best, 0.8–1.5 µs on average
// once GC is counted; docs/middleware.md), more than a 32-step sync chain,
// so plans only enter it when the app asks with `app.use(contextStorage())`.

import { AsyncLocalStorage } from "node:async_hooks";
import type { Context } from "./context.ts";
import type { Onion } from "./middleware.ts";

/** The storage plans enter per request when context storage is on. */
export const requestStorage: AsyncLocalStorage<Context> = new AsyncLocalStorage<Context>();

/**
 * The one marker `contextStorage()` returns. Plans recognise it and run the
 * whole request (before, handler and after) inside `requestStorage`; it is
 * never called as an onion by them. Its body is what a plain onion runner
 * would need, so it still scopes the inner chain if ever run as one.
 */
export const CONTEXT_STORAGE: Onion = (c, next) => requestStorage.run(c, next);

/**
 * Turns on per-request async context for the app (or, in a route's `use`,
 * for that route): every request then runs inside an `AsyncLocalStorage`
 * scope that covers its before-middleware, handler and after-middleware,
 * across awaits. `getContext()` works anywhere inside that scope, and your
 * own `AsyncLocalStorage`s (even `enterWith`) stay scoped to the request.
 *
 * Where it is registered does not matter: the scope always wraps the whole
 * request. It costs no hop; entering the scope costs ~0.3 µs per request
 * (more once GC is counted), which is why it is not on by default.
 *
 * @example Request-scoped logging without passing `c` around
 * ```ts
 * import { App, contextStorage, getContext } from "@ferry/ferry";
 * const requestId = () => getContext().get<string>("id");
 * const app = new App();
 * app.use(contextStorage());
 * app.before((c) => c.set("id", c.req.header("x-id") ?? "none"));
 * app.get("/", async () => {
 *   await Promise.resolve();
 *   return `id ${requestId()}`;
 * });
 * const res = await app.fetch(new Request("http://localhost/", { headers: { "x-id": "7" } }));
 * console.assert(await res.text() === "id 7");
 * ```
 */
export function contextStorage(): Onion {
  return CONTEXT_STORAGE;
}

/**
 * The `Context` of the request being served, from anywhere in its before-
 * middleware, handler or after-middleware, including after awaits. Needs
 * `app.use(contextStorage())`; throws an `Error` otherwise or outside a
 * request.
 *
 * @example
 * ```ts
 * import { App, contextStorage, getContext } from "@ferry/ferry";
 * function currentUser(): string {
 *   return getContext().get<string>("user") ?? "anonymous";
 * }
 * const app = new App().use(contextStorage());
 * app.before((c) => c.set("user", "ada"));
 * app.get("/", () => currentUser());
 * const res = await app.fetch(new Request("http://localhost/"));
 * console.assert(await res.text() === "ada");
 * ```
 */
export function getContext(): Context {
  const c = requestStorage.getStore();
  if (c === undefined) {
    throw new Error(
      "getContext() was called outside a request, or the app does not use contextStorage(): add app.use(contextStorage())",
    );
  }
  return c;
}
