import type { After, Before, ErrorHook, Handler, Onion, RouteOptions } from "./middleware.ts";
import { lastError, native } from "./_native.ts";
import type { HopCounter, Plan } from "./_plan.ts";
import { RouteTree } from "./_router.ts";
import { type RunnableRoute, Server } from "./server.ts";
import { type ListenOptions, resolveListenOptions } from "./listen_options.ts";
import { NativeMiddleware } from "./native.ts";
import { staticMount, type StaticMountConfig, type StaticOptions } from "./static.ts";
import {
  type Blueprint,
  compile,
  type Compiled,
  type CompiledRoute,
  type NativeUse,
  type RouteDef,
  type Step,
} from "./_compile.ts";
import { checkPrefix, checkScope } from "./_scope.ts";
import type { Env } from "./types.ts";
import { LocalNative } from "./_local.ts";
import { fetchLocally } from "./_fetch.ts";
import { constAnswer } from "./_constant.ts";
import type { RouteSchema, ValidOf } from "./schema.ts";
import { FetchValidation, schemaConfig } from "./validation.ts";
import { responseCheck } from "./response_check.ts";
import { mountOpenApi, type OpenApiOptions } from "./openapi.ts";
import {
  resolveWebSocketOptions,
  type WebSocketHandlers,
  type WebSocketOptions,
} from "./websocket.ts";
import { upgradeReply, websocketOf } from "./_ws_upgrade.ts";
import type { Context } from "./context.ts";

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

/**
 * Options of `new App()`.
 *
 * @example
 * ```ts
 * import { App, type AppOptions } from "@ferry/ferry";
 * const options: AppOptions = { basePath: "/api" };
 * new App(options).get("/ping", () => "pong"); // answers GET /api/ping
 * ```
 */
export interface AppOptions {
  /**
   * A prefix for every route, middleware path and static mount of this app
   * (also when it is mounted with `app.route()`). @default {""}
   */
  basePath?: string;
}

/**
 * Counts registrations on every app: a cached merged table is stale once
 * any app (a mounted one too) changed after it was built.
 */
let generation = 0;

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
export class App<E extends Env = Env> {
  #basePath: string;
  #routes: RouteDef[] = [];
  #steps: Step[] = [];
  #natives: NativeUse[] = [];
  #statics: StaticMountConfig[] = [];
  // deno-lint-ignore no-explicit-any
  #mounts: { prefix: string; app: App<any> }[] = [];
  #onError?: ErrorHook;
  #notFound?: Handler;
  /** The prefix this app is mounted under in its parent's tree ("" at the root). */
  #mountedAt = "";
  /** This app's own routes, to refuse a conflict when it is registered. */
  #tree = new RouteTree<RouteDef>();
  /** The merged table for app.fetch, rebuilt after any registration. */
  #compiled?: Compiled;
  #compiledAt = -1;
  /** The native part app.fetch runs, for the table in `#compiled`. */
  #local?: LocalNative;
  #counter: HopCounter = { hops: 0 };
  /** Route schemas compiled in Rust for app.fetch, on first use. */
  #validation = new FetchValidation();
  #onStartup: Hook[] = [];
  #onShutdown: Hook[] = [];
  /** Set by listen() (of this app or one it is mounted in). */
  #served = false;

  /**
   * A new application.
   *
   * @param options See `AppOptions` (`basePath`).
   */
  constructor(options: AppOptions = {}) {
    this.#basePath = checkPrefix("basePath", options.basePath ?? "");
  }

  /** Registers a GET route (HEAD is answered by it too, without a body). */
  get<P extends string, S extends RouteSchema = RouteSchema>(
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options?: RouteOptions<E, P, S>,
  ): this {
    return this.on("GET", path, handler, options);
  }
  /** Registers a POST route. */
  post<P extends string, S extends RouteSchema = RouteSchema>(
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options?: RouteOptions<E, P, S>,
  ): this {
    return this.on("POST", path, handler, options);
  }
  /** Registers a PUT route. */
  put<P extends string, S extends RouteSchema = RouteSchema>(
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options?: RouteOptions<E, P, S>,
  ): this {
    return this.on("PUT", path, handler, options);
  }
  /** Registers a PATCH route. */
  patch<P extends string, S extends RouteSchema = RouteSchema>(
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options?: RouteOptions<E, P, S>,
  ): this {
    return this.on("PATCH", path, handler, options);
  }
  /** Registers a DELETE route. */
  delete<P extends string, S extends RouteSchema = RouteSchema>(
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options?: RouteOptions<E, P, S>,
  ): this {
    return this.on("DELETE", path, handler, options);
  }
  /** Registers an OPTIONS route (otherwise OPTIONS gets 204 with `Allow`). */
  options<P extends string, S extends RouteSchema = RouteSchema>(
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options?: RouteOptions<E, P, S>,
  ): this {
    return this.on("OPTIONS", path, handler, options);
  }
  /** Registers a HEAD route (otherwise HEAD uses the GET route). */
  head<P extends string, S extends RouteSchema = RouteSchema>(
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options?: RouteOptions<E, P, S>,
  ): this {
    return this.on("HEAD", path, handler, options);
  }
  /** Registers a route for every method. */
  all<P extends string, S extends RouteSchema = RouteSchema>(
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options?: RouteOptions<E, P, S>,
  ): this {
    return this.on("*", path, handler, options);
  }

  /**
   * Registers a route. Patterns: `/users/:id` (one segment), `/files/*path`
   * (the rest of the path, possibly empty: `/files/` matches with
   * `path === ""`, and `/*rest` matches `/`), matched exactly: a trailing
   * slash makes a different path. A pattern that conflicts with one already
   * registered (`/users/:id` and `/users/:name` for one method) throws a
   * `TypeError` naming both; so does registering after `listen()`.
   */
  on<P extends string, S extends RouteSchema = RouteSchema>(
    method: Method,
    path: P,
    handler: Handler<E, P, ValidOf<S>>,
    options: RouteOptions<E, P, S> = {},
  ): this {
    this.#mutable(`app.on("${method}", "${path}")`);
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
    const encoded = path.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch));
    // Stored untyped: the types only serve the caller (the handler reads
    // `c.params` and `c.valid` as its pattern and schema type them).
    const route: RouteDef = {
      method,
      path: encoded,
      handler: handler as unknown as Handler,
      options: options as unknown as RouteOptions,
    };
    this.#tree.add(method, encoded, route);
    this.#routes.push(route);
    return this.#changed();
  }

  /**
   * Registers a WebSocket route (a `GET` path). Rust does the handshake and
   * the framing; a plain HTTP request to the path gets 426. The route's
   * before-middleware and native middleware run for the upgrade request,
   * then `handlers.upgrade(c)`: its value becomes `ws.data`, or a
   * `Response` / `Reply` it returns refuses the upgrade. Messages of every
   * socket reach the handlers in batches, and `publish` fans out in Rust.
   * See docs/websockets.md.
   *
   * @example A chat room per path
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App();
   * app.ws("/rooms/:room", {
   *   open(ws) { ws.subscribe(ws.params.room); },
   *   message(ws, message) { ws.publish(ws.params.room, message); },
   * }, { maxPayloadBytes: 64 * 1024 });
   * ```
   */
  ws<D = undefined, P extends string = string>(
    path: P,
    handlers: WebSocketHandlers<D, E, P>,
    options: WebSocketOptions = {},
  ): this {
    if (handlers === null || typeof handlers !== "object") {
      throw new TypeError(
        `app.ws("${path}"): the handlers must be an object ({ open, message, close })`,
      );
    }
    const websocket = resolveWebSocketOptions(path, options);
    // deno-lint-ignore no-explicit-any
    const handler = (c: Context<E, P>) => upgradeReply(c as any, handlers as any, websocket);
    // deno-lint-ignore no-explicit-any
    return this.on("GET", path, handler as any, { websocket } as any);
  }

  /**
   * Adds before-middleware (runs before the handler, in order): for every
   * route of this app, or only for routes under `path` (`"/api/*"`, an
   * exact `"/login"`). Scopes are resolved once, when the app starts.
   */
  before(fn: Before<E>): this;
  /**
   * Adds before-middleware for the routes under `path` only.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * new App().before("/admin/*", (c) => c.req.header("x-admin") ? undefined : c.text("no", 403));
   * ```
   */
  before(path: string, fn: Before<E>): this;
  before(a: string | Before<E>, b?: Before<E>): this {
    const [scope, fn] = scoped("before", a, b);
    this.#mutable("app.before()");
    this.#steps.push({ kind: "before", fn: checked(fn, "before") as Before, scope });
    return this.#changed();
  }

  /** Adds after-middleware (runs on every response, in order), optionally under `path`. */
  after(fn: After<E>): this;
  /**
   * Adds after-middleware for the routes under `path` only.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * new App().after("/api/*", (_c, res) => void res.headers.set("cache-control", "no-store"));
   * ```
   */
  after(path: string, fn: After<E>): this;
  after(a: string | After<E>, b?: After<E>): this {
    const [scope, fn] = scoped("after", a, b);
    this.#mutable("app.after()");
    this.#steps.push({ kind: "after", fn: checked(fn, "after") as After, scope });
    return this.#changed();
  }

  /**
   * Adds onion middleware `(c, next)` (the slower, wrapping form), or a
   * native middleware such as `cors()` or `compress()`, which runs in Rust
   * with no crossing; with `path`, only for requests under it
   * (`app.use("/api/*", cors())`: Rust compares the path's prefix).
   */
  use(fn: Onion<E> | NativeMiddleware): this;
  /**
   * Adds onion or native middleware for requests under `path` only; a
   * native one is checked in Rust by a prefix compare.
   *
   * @example
   * ```ts
   * import { App, cors } from "@ferry/ferry";
   * new App().use("/api/*", cors({ origin: ["https://app.example"] }));
   * ```
   */
  use(path: string, fn: Onion<E> | NativeMiddleware): this;
  use(a: string | Onion<E> | NativeMiddleware, b?: Onion<E> | NativeMiddleware): this {
    const [scope, fn] = scoped("use", a, b);
    this.#mutable("app.use()");
    if (fn instanceof NativeMiddleware) {
      if (this.#natives.some((n) => n.mw.key === fn.key)) {
        throw new TypeError(`Native middleware "${fn.key}" is registered twice`);
      }
      this.#natives.push({ mw: fn, scope });
      return this.#changed();
    }
    this.#steps.push({ kind: "onion", fn: checked(fn, "use") as Onion, scope });
    return this.#changed();
  }

  /**
   * Mounts `app` under `prefix`: its routes, TypeScript and native
   * middleware, static mounts and hooks, scoped to it. This app's
   * middleware also applies to the mounted routes (first, in order). The
   * tables merge when the server starts; registering on `app` later still
   * counts, until then.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const users = new App().get("/:id", (c) => ({ id: c.params.id }));
   * const app = new App().route("/users", users);
   * const res = await app.request("/users/7");
   * console.assert((await res.json()).id === "7");
   * ```
   */
  // deno-lint-ignore no-explicit-any
  route(prefix: string, app: App<any>): this {
    this.#mutable(`app.route("${prefix}")`);
    if (!(app instanceof App)) throw new TypeError("app.route() needs an App to mount");
    if (app === this) throw new TypeError("app.route() cannot mount an app in itself");
    this.#mounts.push({ prefix: checkPrefix("app.route() prefix", prefix), app });
    return this.#changed();
  }

  /**
   * Answers errors thrown by this app's middleware and handlers (and those
   * of mounted apps without their own hook); see `ErrorHook`.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().onError((err, c) => c.json({ error: String(err) }, 500));
   * ```
   */
  onError(fn: ErrorHook<E>): this {
    this.#mutable("app.onError()");
    this.#onError = checked(fn, "onError") as ErrorHook;
    return this.#changed();
  }

  /**
   * Answers requests for paths no route of this app matches (status 404
   * unless it sets another). Without this hook a 404 is made in Rust with
   * no crossing; with it, a catch-all route under this app's prefix brings
   * unmatched paths to TypeScript (this app's middleware runs on them). A
   * user route at the same position (`/:slug` at the root) wins over it.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().notFound((c) => c.json({ error: "no such page" }));
   * const res = await app.request("/nope");
   * console.assert(res.status === 404);
   * ```
   */
  notFound(fn: Handler<E>): this {
    this.#mutable("app.notFound()");
    this.#notFound = checked(fn, "notFound") as Handler;
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
    this.#mutable(`app.static("${prefix}")`);
    this.#statics.push(staticMount(prefix, dir, options));
    return this.#changed();
  }

  /**
   * Serves the app's OpenAPI 3.1 document (built from every route's
   * schema, summary, tags and operationId when the server starts, routes
   * of mounted sub-apps included) and a Swagger UI page; Rust serves both,
   * and the page's assets, with no crossing. See `OpenApiOptions`.
   *
   * @example
   * ```ts
   * import { App, t } from "@ferry/ferry";
   * const app = new App().openapi({ info: { title: "Pets", version: "1.0.0" } });
   * app.get("/pets/:id", (c) => ({ id: c.valid.params.id }), {
   *   schema: { params: t.Object({ id: t.Integer() }) },
   *   tags: ["pets"],
   * });
   * const doc = await (await app.fetch(new Request("http://localhost/openapi.json"))).json();
   * console.assert(doc.paths["/pets/{id}"].get.tags[0] === "pets");
   * ```
   */
  openapi(options: OpenApiOptions = {}): this {
    this.#mutable("app.openapi()");
    mountOpenApi(options, {
      // Compiled alone the app knows its basePath, not where it is mounted.
      routes: () =>
        this.#compile().routes.filter((r) => r.documented).map((r) =>
          this.#mountedAt === "" ? r : { ...r, path: this.#mountedAt + r.path }
        ),
      prefix: () => this.#mountedAt + this.#basePath,
      route: (path, handler) => {
        this.get(path, handler, { const: true });
        this.#routes[this.#routes.length - 1].documented = false;
      },
      static: (prefix, dir, options) => this.static(prefix, dir, options),
    });
    return this;
  }

  /** Registrations read by `compile()` (kept off the public API). */
  // deno-lint-ignore no-explicit-any
  static #blueprint(app: App<any>): Blueprint {
    return {
      basePath: app.#basePath,
      routes: app.#routes,
      steps: app.#steps,
      natives: app.#natives,
      statics: app.#statics,
      mounts: app.#mounts,
      onError: app.#onError,
      notFound: app.#notFound,
      mounted: (prefix) => app.#mountedAt = prefix,
    };
  }

  /** Refuses registrations once served: `listen()` has read the table. */
  #freeze(): void {
    this.#served = true;
    for (const mount of this.#mounts) mount.app.#freeze();
  }

  #mutable(what: string): void {
    if (this.#served) {
      throw new Error(
        `${what} was called after listen(): register routes, middleware, hooks and static ` +
          "mounts before the server starts (Rust has the route table already)",
      );
    }
  }

  #changed(): this {
    generation++;
    return this;
  }

  #compile(): Compiled {
    if (this.#compiled === undefined || this.#compiledAt !== generation) {
      this.#compiled = compile(this, App.#blueprint);
      this.#compiledAt = generation;
      this.#local?.close();
      this.#local = undefined;
    }
    return this.#compiled;
  }

  /**
   * Starts serving on a socket. Rust binds before this returns, so a busy
   * port throws here. Routes, middleware and mounts registered afterwards
   * throw.
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
    const compiled = this.#compile();
    const constants = new Map(compiled.routes.map((r) => [r.id, constAnswer(r)]));
    const schemas = compiled.routes.map((r) => schemaConfig(r.options.schema, r.names));
    const config = new TextEncoder().encode(JSON.stringify({
      ...resolved.native,
      routes: compiled.table.map((r) => ({
        ...r,
        constant: constants.get(r.id),
        body_limit: compiled.routes[r.id].bodyLimit,
        schema: schemas[r.id],
        websocket: websocketOf(compiled.routes[r.id].options),
      })),
      statics: compiled.statics,
      native: compiled.native,
    }));
    const id = lib.ferry_server_start(config, config.length);
    if (id < 0) throw new Error(`Ferry could not start: ${lastError(lib)}`);
    this.#freeze();
    const routes: RunnableRoute[] = compiled.routes.map((r) => ({
      names: r.names,
      plan: options.validateResponses ? checkedPlan(r) : r.plan,
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
      maxSockets: compiled.routes.some((r) => websocketOf(r.options))
        ? resolved.native.maxSockets
        : 0,
      signal: options.signal,
      onStartup: [...this.#onStartup],
      onShutdown: [...this.#onShutdown],
    });
    options.onListen?.(server.addr);
    return server;
  }

  /**
   * Answers a Web `Request` in-process, with no socket, as the network
   * would: the same routing, middleware, hooks and handlers, and the same
   * native middleware and static mounts, run by Rust in-process (CORS,
   * security headers, request ids, global headers, static files; const
   * routes give the same answer), and the same Rust checks of route
   * schemas (`c.valid`, 422/400/415). A bound property, so
   * `Deno.serve(app.fetch)` works. Use it in tests, or as the handler of
   * `Deno.serve`.
   *
   * What it cannot do, having no socket of its own: `rateLimit()` (keyed by
   * the client's address) and `timeout()` do not apply, nor do the
   * connection limits and timeouts of `ListenOptions`; responses are not
   * compressed by `compress()`; the body is read whole before the handler
   * runs.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().get("/", () => "hi");
   * const { fetch } = app;
   * const res = await fetch(new Request("http://localhost/"));
   * console.assert(await res.text() === "hi");
   * ```
   */
  readonly fetch: (request: Request) => Promise<Response> = (request) => this.#fetch(request);

  /**
   * A test helper (as in Hono): answers `path` (or a full URL, or a
   * `Request`) through `app.fetch`, with `init` as for `fetch()`.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().post("/echo", async (c) => await c.req.text());
   * const res = await app.request("/echo", { method: "POST", body: "hi" });
   * console.assert(await res.text() === "hi");
   * ```
   */
  request(path: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = path instanceof Request
      ? new Request(path, init)
      : new Request(new URL(path, "http://localhost"), init);
    return this.#fetch(request);
  }

  async #fetch(request: Request): Promise<Response> {
    const compiled = this.#compile();
    const local = compiled.statics.length > 0 || Object.keys(compiled.native).length > 0
      ? this.#local ??= new LocalNative({ statics: compiled.statics, native: compiled.native })
      : undefined;
    return await fetchLocally(compiled, local, request, this.#counter, this.#validation);
  }
}

/**
 * The route's plan with its response check as the last after-middleware
 * (`validateResponses`); the checkers compile here, once per route.
 */
function checkedPlan(route: CompiledRoute): Plan {
  const check = responseCheck(native(), route.method, route.path, route.options.schema);
  return check ? { ...route.plan, after: [...route.plan.after, check] } : route.plan;
}

/** Splits the `(path?, fn)` arguments of before/after/use. */
function scoped<F>(kind: string, a: string | F, b: F | undefined): [string | undefined, F] {
  if (typeof a !== "string") return [undefined, a];
  if (b === undefined) throw new TypeError(`app.${kind}("${a}") needs a middleware after the path`);
  return [checkScope(a), b];
}

function checked<T extends (...args: never[]) => unknown>(fn: T, kind: string): T {
  if (typeof fn !== "function") {
    throw new TypeError(`app.${kind}() needs a function, got ${typeof fn}`);
  }
  return fn;
}
