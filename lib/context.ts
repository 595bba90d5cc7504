import { checkStatus, Reply, type ReplyBody } from "./reply.ts";
import { FerryRequest } from "./request.ts";
import type { RequestSource } from "./_source.ts";
import { BYTES, HTML, JSON_TYPE, TEXT } from "./_media.ts";
import type { Env, Params, Variables } from "./types.ts";
import {
  type CookieOptions,
  type CookieSecret,
  serializeCookie,
  signCookieValue,
  verifyCookieValue,
} from "./cookie.ts";
import {
  type SSEOptions,
  sseSource,
  type SSEWriter,
  streamSource,
  type StreamWriter,
} from "./stream.ts";

/**
 * Everything a handler or middleware gets for one request: the lazy
 * request (`c.req`), route params, query, per-request variables, and
 * helpers that build the response.
 *
 * @example A handler using params, query and a header
 * ```ts
 * import { App } from "@ferry/ferry";
 * const app = new App();
 * app.get("/users/:id", (c) => {
 *   c.header("x-user", c.params.id);
 *   return c.json({ id: c.params.id, q: c.query.get("q") });
 * });
 * const res = await app.fetch(new Request("http://localhost/users/7?q=hi"));
 * console.assert(res.headers.get("x-user") === "7");
 * ```
 */
export class Context<E extends Env = Env, P extends string = string> {
  #req?: FerryRequest;
  /**
   * The response so far: set once the handler (or an early return) has
   * answered, so onion middleware can read it after `await next()`.
   */
  res: Reply | undefined = undefined;
  #src: RequestSource;
  #names: readonly string[];
  #params?: Record<string, string>;
  #query?: URLSearchParams;
  #vars?: Map<string, unknown>;
  #status = 200;
  /** name, value, "a" (append) or "s" (set), ... */
  #headers: string[] | null = null;
  /**
   * The reply `applyHeaders` last saw and how many entries it had then:
   * the same reply passes through it more than once, and appended lines
   * must reach it once (entries are only ever added or updated in place).
   */
  #appliedTo?: Reply;
  #appliedUpTo = 0;

  /**
   * Made by Ferry for each request; handlers receive it, they do not build it.
   *
   * @param source The request's bytes.
   * @param paramNames The route's parameter names, in pattern order.
   */
  constructor(source: RequestSource, paramNames: readonly string[]) {
    this.#src = source;
    this.#names = paramNames;
  }

  /** The request, decoded lazily (made on first use). */
  get req(): FerryRequest {
    return this.#req ??= new FerryRequest(this.#src);
  }

  /**
   * Route parameters, percent-decoded: `/users/:id` gives `c.params.id`,
   * typed from the pattern (a name not in it is a type error).
   */
  get params(): Params<P> {
    if (this.#params) return this.#params as Params<P>;
    const params: Record<string, string> = {};
    const names = this.#names;
    if (names.length > 0) {
      const values = this.#src.paramValues();
      for (let i = 0; i < names.length; i++) params[names[i]] = values[i] ?? "";
    }
    return (this.#params = params) as Params<P>;
  }

  /** The query string as `URLSearchParams`. */
  get query(): URLSearchParams {
    return this.#query ??= new URLSearchParams(this.#src.query());
  }

  /**
   * Stores a per-request value for later middleware and the handler; typed
   * by the app's `Variables` (`new App<{ Variables: { user: User } }>()`).
   */
  set<K extends keyof Variables<E> & string>(key: K, value: Variables<E>[K]): void {
    (this.#vars ??= new Map()).set(key, value);
  }

  /** Reads a value stored with `set` (`undefined` at run time when never set). */
  get<K extends keyof Variables<E> & string>(key: K): Variables<E>[K];
  /**
   * Reads a value stored with `set`, typed by the caller: the form for apps
   * that declare no `Variables` (in one that does, a typo stays an error).
   */
  get<T>(key: E["Variables"] extends object ? never : string): T | undefined;
  get(key: string): unknown {
    return this.#vars?.get(key);
  }

  /** Sets the status used by the helpers and plain return values. */
  status(code: number): this {
    checkStatus(code);
    this.#status = code;
    return this;
  }

  /**
   * Sets a response header on whatever this request answers with,
   * replacing an earlier value; `set-cookie`, and any header with
   * `{ append: true }`, adds a line instead. It is checked when the answer
   * is sent: a name that is not an HTTP token, or a value with a control
   * character (CR, LF, NUL...) or a character above U+00FF, makes the
   * answer a 500 problem+json naming the header.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().get("/", (c) => {
   *   c.header("link", "</a.css>; rel=preload", { append: true });
   *   c.header("link", "</b.js>; rel=preload", { append: true });
   *   return "ok";
   * });
   * ```
   */
  header(name: string, value: string, options?: { append?: boolean }): this {
    const headers = this.#headers ??= [];
    const lower = name.toLowerCase();
    if (options?.append || lower === "set-cookie") {
      headers.push(lower, value, "a");
      return this;
    }
    for (let i = 0; i < headers.length; i += 3) {
      if (headers[i] === lower && headers[i + 2] === "s") {
        headers[i + 1] = value;
        return this;
      }
    }
    headers.push(lower, value, "s");
    return this;
  }

  /**
   * The request's cookies (`Cookie` header) by name, or one of them
   * (`undefined` when absent), percent-decoded as `c.req.cookies` gives them.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().get("/", (c) => c.cookie("theme") ?? "light");
   * const res = await app.request("/", { headers: { cookie: "theme=dark" } });
   * console.assert(await res.text() === "dark");
   * ```
   */
  cookie(): Record<string, string>;
  /**
   * One cookie of the request, percent-decoded, or `undefined`.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * new App().get("/", (c) => c.cookie("theme") ?? "light");
   * ```
   */
  cookie(name: string): string | undefined;
  cookie(name?: string): Record<string, string> | string | undefined {
    const all = this.req.cookies;
    return name === undefined ? { ...all } : Object.hasOwn(all, name) ? all[name] : undefined;
  }

  /**
   * Adds a `Set-Cookie` line (several per response are kept). The name and
   * value are checked against RFC 6265 (a `TypeError` otherwise: encode
   * the value first if it may hold spaces, commas or semicolons). `path`
   * defaults to `"/"`.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * new App().post("/login", (c) => {
   *   c.setCookie("session", "abc123", { httpOnly: true, secure: true, sameSite: "Lax", maxAge: 3600 });
   *   return { ok: true };
   * });
   * ```
   */
  setCookie(name: string, value: string, options?: CookieOptions): this {
    return this.header("set-cookie", serializeCookie(name, value, options));
  }

  /**
   * Tells the browser to drop a cookie (empty value, `Max-Age=0`, an
   * `Expires` in 1970). Pass the `path` and `domain` it was set with.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * new App().post("/logout", (c) => { c.deleteCookie("session"); return { ok: true }; });
   * ```
   */
  deleteCookie(
    name: string,
    options: Pick<CookieOptions, "path" | "domain" | "secure"> = {},
  ): this {
    return this.setCookie(name, "", { ...options, maxAge: 0, expires: new Date(0) });
  }

  /**
   * A cookie set with `setSignedCookie`, when one of the secrets verifies
   * its HMAC-SHA256 signature; `undefined` when absent, unsigned or forged.
   * With a list of secrets, any of them verifies (rotate by putting the new
   * one first).
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const secret = ["new-secret", "old-secret"];
   * new App().get("/me", async (c) => (await c.signedCookie("user", secret)) ?? "anonymous");
   * ```
   */
  signedCookie(name: string, secret: CookieSecret): Promise<string | undefined> {
    return verifyCookieValue(this.cookie(name), secret);
  }

  /**
   * Sets a cookie whose value carries an HMAC-SHA256 signature (WebCrypto)
   * made with the first secret: readable by the client, but not forgeable.
   * The value is percent-encoded, so any string may be signed.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * new App().post("/login", async (c) => {
   *   await c.setSignedCookie("user", "42", "a long random secret", { httpOnly: true });
   *   return { ok: true };
   * });
   * ```
   */
  async setSignedCookie(
    name: string,
    value: string,
    secret: CookieSecret,
    options?: CookieOptions,
  ): Promise<this> {
    return this.setCookie(name, await signCookieValue(value, secret), options);
  }

  /** The status set with `status()` (200 by default). */
  get currentStatus(): number {
    return this.#status;
  }

  /** Whether `header()` added entries since they were last applied to `reply`. */
  hasNewHeaders(reply: Reply): boolean {
    const headers = this.#headers;
    return headers !== null && (reply !== this.#appliedTo || headers.length > this.#appliedUpTo);
  }

  /** Applies headers set with `header()` to a reply. */
  applyHeaders(reply: Reply): Reply {
    const headers = this.#headers;
    if (headers !== null) {
      const seen = reply === this.#appliedTo ? this.#appliedUpTo : 0;
      for (let i = 0; i < headers.length; i += 3) {
        // An error answer keeps its problem+json type.
        if (reply.problem && headers[i] === "content-type") continue;
        if (headers[i + 2] !== "a") reply.set(headers[i], headers[i + 1]);
        else if (i >= seen) reply.append(headers[i], headers[i + 1]);
      }
      this.#appliedTo = reply;
      this.#appliedUpTo = headers.length;
    }
    return reply;
  }

  /** A `text/plain; charset=utf-8` reply. */
  text(text: string, status?: number): Reply {
    return new Reply(text, status ?? this.#status, TEXT);
  }

  /** An `application/json` reply of `JSON.stringify(value)`. */
  json(value: unknown, status?: number): Reply {
    return new Reply(JSON.stringify(value) ?? "null", status ?? this.#status, JSON_TYPE);
  }

  /** A `text/html; charset=utf-8` reply. */
  html(html: string, status?: number): Reply {
    return new Reply(html, status ?? this.#status, HTML);
  }

  /**
   * A reply with a raw body; bytes default to `application/octet-stream`.
   * `contentType` is checked like any header (see `header()`).
   */
  body(body: ReplyBody | ArrayBuffer, status?: number, contentType?: string): Reply {
    const data = body instanceof ArrayBuffer ? new Uint8Array(body) : body;
    const type = contentType ?? (data instanceof Uint8Array ? BYTES : undefined);
    return new Reply(data, status ?? this.#status, type);
  }

  /**
   * A redirect (302 by default) to `location`, sent as given (it is checked
   * like any header, so CR or LF in it makes the answer a 500).
   */
  redirect(location: string, status = 302): Reply {
    return new Reply(null, status).set("location", location);
  }

  /**
   * A streamed answer: the head goes out at once, then whatever `run`
   * writes, as it writes it (HTTP/1.1 chunked, HTTP/2 DATA frames).
   * `w.write()` waits while the client is behind; a client that leaves
   * makes `w.closed` true and aborts `w.signal`. A throw from `run` ends
   * the transfer as failed (logged).
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App();
   * app.get("/log", (c) => c.stream(async (w) => {
   *   for (let i = 0; i < 3; i++) await w.write(`line ${i}\n`);
   * }));
   * ```
   */
  stream(
    run: (w: StreamWriter) => Promise<void> | void,
    contentType = "application/octet-stream",
  ): Reply {
    return Reply.streamed(streamSource(run), this.#status, contentType);
  }

  /**
   * A Server-Sent Events answer (`text/event-stream`, `cache-control:
   * no-cache`): `s.send({ event, id, retry, data })` writes one event
   * (objects as JSON, multi-line text as several `data:` lines), and a
   * keep-alive comment goes out after `keepAliveMs` (default 15 s) without
   * one. `s.lastEventId` is the client's `Last-Event-ID`. `compress()` leaves
   * event streams uncompressed (other streams it flushes per chunk), so no
   * event is ever held back.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App();
   * app.get("/events", (c) => c.sse(async (s) => {
   *   for (let i = 0; !s.closed && i < 10; i++) {
   *     await s.send({ event: "tick", id: String(i), data: { i } });
   *     await s.sleep(1000);
   *   }
   * }));
   * ```
   */
  sse(run: (s: SSEWriter) => Promise<void> | void, options?: SSEOptions): Reply {
    const source = sseSource(run, this.req.header("last-event-id"), options);
    const reply = Reply.streamed(source, this.#status, "text/event-stream");
    reply.set("cache-control", "no-cache");
    return reply;
  }
}
