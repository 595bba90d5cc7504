import { Context } from "./context.ts";
import type { After, Before, Handler, Onion, RouteOptions } from "./middleware.ts";
import { lastError, native } from "./_native.ts";
import { problem } from "./_outcome.ts";
import { type HopCounter, type Layer, type Plan, runPlan } from "./_plan.ts";
import { paramNames, RouteTree } from "./_router.ts";
import { Reply } from "./reply.ts";
import { type RunnableRoute, Server } from "./server.ts";
import { WebSource } from "./_source.ts";
import { type ListenOptions, resolveListenOptions } from "./listen_options.ts";
import { NativeMiddleware, type NativeSettings } from "./native.ts";
import { staticMount, type StaticOptions } from "./static.ts";

/** Methods a route can be registered for; `"*"` means every method. */
export type Method =
  | "GET"
  | "HEAD"
  | "POST"
  | "PUT"
  | "PATCH"
  | "DELETE"
  | "OPTIONS"
  | "*";

interface RouteDef {
  id: number;
  method: Method;
  path: string;
  handler: Handler;
  options: RouteOptions;
  /** Parameter names in pattern order, computed once. */
  names: string[];
}

/**
 * A start-up or shutdown hook (see `app.onStartup`, `app.onShutdown`).
 *
 * @example
 * ```ts
 * import type { Hook } from "@ferry/ferry";
 * const warmUp: Hook = async () => { await Promise.resolve(); };
 * ```
 */
export type Hook = () => void | Promise<void>;

/** The global chain in registration order. */
type GlobalStep =
  | Layer
  | { kind: "after"; fn: After };

/**
 * A Ferry application: routes, middleware, and the way to serve them.
 * Rust routes and parses; handlers run in TypeScript, many requests per FFI
 * crossing.
 *
 * @example Hello, World
 * ```ts
 * import { App } from "@ferry/ferry";
 * const app = new App();
 * app.get("/", () => "Hello, World!");
 * app.get("/users/:id", (c) => ({ id: c.params.id, q: c.query.get("q") }));
 * const res = await app.fetch(new Request("http://localhost/users/7?q=x"));
 * console.assert((await res.json()).id === "7");
 * // app.listen({ port: 8000 }) serves it over the network.
 * ```
 */
export class App {
  #routes: RouteDef[] = [];
  #global: GlobalStep[] = [];
  #tree?: RouteTree<RouteDef>;
  #plans = new Map<RouteDef, Plan>();
  #counter: HopCounter = { hops: 0 };
  #native: NativeSettings = {};
  #onStartup: Hook[] = [];
  #onShutdown: Hook[] = [];
  #statics: Record<string, unknown>[] = [];

  /** Creates an app with no routes. */
  constructor() {
    // devloop (issue #16): `deno serve` takes `fetch` off `export default
    // app` and calls it unbound, and accepts only an own property.
    this.fetch = this.fetch.bind(this);
  }

  /** Registers a GET route (HEAD is answered by it too, without a body). */
  get(path: string, handler: Handler, options?: RouteOptions): this {
    return this.on("GET", path, handler, options);
  }
  /** Registers a POST route. */
  post(path: string, handler: Handler, options?: RouteOptions): this {
    return this.on("POST", path, handler, options);
  }
  /** Registers a PUT route. */
  put(path: string, handler: Handler, options?: RouteOptions): this {
    return this.on("PUT", path, handler, options);
  }
  /** Registers a PATCH route. */
  patch(path: string, handler: Handler, options?: RouteOptions): this {
    return this.on("PATCH", path, handler, options);
  }
  /** Registers a DELETE route. */
  delete(path: string, handler: Handler, options?: RouteOptions): this {
    return this.on("DELETE", path, handler, options);
  }
  /** Registers an OPTIONS route (otherwise OPTIONS gets 204 with `Allow`). */
  options(path: string, handler: Handler, options?: RouteOptions): this {
    return this.on("OPTIONS", path, handler, options);
  }
  /** Registers a HEAD route (otherwise HEAD uses the GET route). */
  head(path: string, handler: Handler, options?: RouteOptions): this {
    return this.on("HEAD", path, handler, options);
  }
  /** Registers a route for every method. */
  all(path: string, handler: Handler, options?: RouteOptions): this {
    return this.on("*", path, handler, options);
  }

  /**
   * Registers a route. Patterns: `/users/:id` (one segment), `/files/*path`
   * (the rest of the path, at least one character), matched exactly: a
   * trailing slash makes a different path.
   */
  on(method: Method, path: string, handler: Handler, options: RouteOptions = {}): this {
    if (typeof handler !== "function") {
      throw new TypeError(`The handler for ${method} "${path}" must be a function`);
    }
    const limit = options.bodyLimit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new RangeError(
        `bodyLimit for ${method} "${path}" must be a whole number of bytes, got ${limit}`,
      );
    }
    // Requests arrive percent-encoded: encode literal non-ASCII (and space)
    // in the pattern the same way, so `/café` matches `/caf%C3%A9`.
    path = path.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch));
    const route = {
      id: this.#routes.length,
      method,
      path,
      handler,
      options,
      names: paramNames(path),
    };
    this.#treeFor().add(method, path, route);
    this.#routes.push(route);
    return this;
  }

  /** Adds global before-middleware (runs before every handler, in order). */
  before(fn: Before): this {
    this.#global.push({ kind: "before", fn: checked(fn, "before") });
    return this.#changed();
  }

  /** Adds global after-middleware (runs on every response, in order). */
  after(fn: After): this {
    this.#global.push({ kind: "after", fn: checked(fn, "after") });
    return this.#changed();
  }

  /**
   * Adds global onion middleware `(c, next)` (the slower, wrapping form),
   * or a native middleware such as `cors()` or `compress()`, which runs in
   * Rust with no crossing.
   */
  use(fn: Onion | NativeMiddleware): this {
    if (fn instanceof NativeMiddleware) {
      fn.applyTo(this.#native);
      return this;
    }
    this.#global.push({ kind: "onion", fn: checked(fn, "use") });
    return this.#changed();
  }

  /**
   * Runs `fn` when a server starts, before it accepts its first
   * connection (sync or async; hooks run in order). State set here is
   * visible to handlers. A hook that throws shuts the server down and
   * rejects `server.ready`.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App();
   * let db: Map<string, string> | undefined;
   * app.onStartup(async () => { db = new Map([["greeting", "hi"]]); });
   * app.get("/", () => db!.get("greeting")!);
   * ```
   */
  onStartup(fn: Hook): this {
    this.#onStartup.push(checked(fn, "onStartup"));
    return this;
  }

  /**
   * Runs `fn` during `server.shutdown()`, after in-flight requests finished
   * (or the deadline passed and the requests still waiting were answered
   * 503) and before native memory is freed.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * new App().onShutdown(() => console.log("bye"));
   * ```
   */
  onShutdown(fn: Hook): this {
    this.#onShutdown.push(checked(fn, "onShutdown"));
    return this;
  }

  /**
   * Serves the files under `dir` at `prefix`, from Rust: no crossing per
   * request. See `StaticOptions` for caching, precompressed files and
   * dotfiles.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const dir = Deno.makeTempDirSync();
   * new App().static("/assets", dir, { cacheControl: "public, max-age=3600" });
   * ```
   */
  static(prefix: string, dir: string, options: StaticOptions = {}): this {
    this.#statics.push(staticMount(prefix, dir, options));
    return this;
  }

  #changed(): this {
    this.#plans.clear();
    return this;
  }

  #treeFor(): RouteTree<RouteDef> {
    return this.#tree ??= new RouteTree();
  }

  #plan(route: RouteDef): Plan {
    let plan = this.#plans.get(route);
    if (plan) return plan;
    const inbound: Layer[] = [];
    const after: After[] = [];
    for (const step of this.#global) {
      if (step.kind === "after") after.push(step.fn);
      else inbound.push(step);
    }
    for (const fn of route.options.before ?? []) inbound.push({ kind: "before", fn });
    for (const fn of route.options.use ?? []) inbound.push({ kind: "onion", fn });
    after.push(...(route.options.after ?? []));
    plan = { inbound, after, handler: route.handler };
    this.#plans.set(route, plan);
    return plan;
  }

  /**
   * Starts serving on a socket. Rust binds before this returns, so a busy
   * port throws here.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().get("/", () => "hi");
   * const server = app.listen({ port: 0, hostname: "127.0.0.1" });
   * console.log(`listening on ${server.addr.port}`);
   * await server.shutdown();
   * ```
   */
  listen(options: ListenOptions = {}): Server {
    const resolved = resolveListenOptions(options);
    const lib = native();
    const config = new TextEncoder().encode(JSON.stringify({
      ...resolved.native,
      routes: this.#routes.map((r) => ({
        method: r.method,
        path: r.path,
        id: r.id,
        constant: this.#constant(r),
        body_limit: bodyLimit(r),
      })),
      statics: this.#statics,
      native: this.#native,
    }));
    const id = lib.ferry_server_start(config, config.length);
    if (id < 0) throw new Error(`Ferry could not start: ${lastError(lib)}`);
    const routes: RunnableRoute[] = this.#routes.map((r) => ({
      names: r.names,
      plan: this.#plan(r),
    }));
    const server = new Server({
      lib,
      id,
      hostname: resolved.native.hostname,
      slots: resolved.native.slots,
      requestSlotBytes: resolved.native.requestSlotBytes,
      responseSlotBytes: resolved.native.responseSlotBytes,
      routes,
      // Each server counts its own hops; app.fetch uses the app's counter.
      counter: { hops: 0 },
      shutdownDeadlineMs: resolved.shutdownDeadlineMs,
      streamHighWaterMark: resolved.streamHighWaterMark,
      signal: options.signal,
      onStartup: [...this.#onStartup],
      onShutdown: [...this.#onShutdown],
    });
    options.onListen?.(server.addr);
    return server;
  }

  /**
   * The answer of a `{ const: true }` route, computed once for Rust to
   * serve; `undefined` when the route is not const or TypeScript
   * middleware applies to it (then it runs in TypeScript as usual).
   */
  #constant(route: RouteDef) {
    if (!route.options.const) return undefined;
    const plan = this.#plan(route);
    if (plan.inbound.length > 0 || plan.after.length > 0) return undefined;
    if (route.path.includes(":") || route.path.includes("*")) {
      throw new TypeError(`Const route "${route.path}" cannot have parameters`);
    }
    const request = new Request(`http://localhost${route.path}`);
    const c = new Context(new WebSource(request, new URL(request.url), new Uint8Array(), []), []);
    const answer = runPlan(plan, c, { hops: 0 });
    if (!(answer instanceof Reply)) {
      throw new TypeError(`The handler of const route "${route.path}" must be synchronous`);
    }
    // Checked as on every other way out, so app.fetch answers the same.
    const reply = answer.sealed();
    const headers: [string, string][] = [];
    reply.forEachHeader((name, value) => headers.push([name, value]));
    const body = typeof reply.body === "string"
      ? new TextEncoder().encode(reply.body)
      : reply.body ?? new Uint8Array();
    return { status: reply.status, headers, body: Array.from(body) };
  }

  /**
   * Answers a Web `Request` in-process, with no socket: the same routing,
   * middleware and handlers as the network path. Use it in tests, or as the
   * handler of `Deno.serve`.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().get("/", () => "hi");
   * const res = await app.fetch(new Request("http://localhost/"));
   * console.assert(await res.text() === "hi");
   * ```
   */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const found = this.#treeFor().find(request.method, url.pathname);
    let reply: Reply;
    if (found.kind === "found") {
      const route = found.value;
      const body = request.body ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array();
      const source = new WebSource(request, url, body, found.params);
      const c = new Context(source, route.names);
      reply = await runPlan(this.#plan(route), c, this.#counter);
    } else if (found.kind === "method") {
      reply = request.method === "OPTIONS"
        ? new Reply(null, 204)
        : problem(405, "this path does not answer that method");
      reply.set("allow", found.allow);
    } else if (found.kind === "bad-param") {
      reply = problem(400, "the path is not valid percent-encoded UTF-8");
    } else {
      reply = problem(404, "no route matches this path");
    }
    const response = reply.toResponse();
    return request.method === "HEAD" ? new Response(null, response) : response;
  }
}

function checked<T extends (...args: never[]) => unknown>(fn: T, kind: string): T {
  if (typeof fn !== "function") {
    throw new TypeError(`app.${kind}() needs a function, got ${typeof fn}`);
  }
  return fn;
}

/** A route's own body limit, as Rust reads it (`null`: `maxBodyBytes`). */
function bodyLimit(route: RouteDef): number | null {
  return route.options.bodyLimit ?? null;
}
