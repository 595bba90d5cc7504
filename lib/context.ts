import { checkStatus, Reply, type ReplyBody } from "./reply.ts";
import { FerryRequest } from "./request.ts";
import type { RequestSource } from "./_source.ts";
import { BYTES, HTML, JSON_TYPE, TEXT } from "./_media.ts";
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
export class Context {
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
  #headers: string[] | null = null;

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

  /** Route parameters, percent-decoded: `/users/:id` gives `c.params.id`. */
  get params(): Record<string, string> {
    if (this.#params) return this.#params;
    const params: Record<string, string> = {};
    const names = this.#names;
    if (names.length > 0) {
      const values = this.#src.paramValues();
      for (let i = 0; i < names.length; i++) params[names[i]] = values[i] ?? "";
    }
    return this.#params = params;
  }

  /** The query string as `URLSearchParams`. */
  get query(): URLSearchParams {
    return this.#query ??= new URLSearchParams(this.#src.query());
  }

  /** Stores a per-request value for later middleware and the handler. */
  set(key: string, value: unknown): void {
    (this.#vars ??= new Map()).set(key, value);
  }

  /** Reads a value stored with `set`. */
  get<T = unknown>(key: string): T | undefined {
    return this.#vars?.get(key) as T | undefined;
  }

  /** Sets the status used by the helpers and plain return values. */
  status(code: number): this {
    checkStatus(code);
    this.#status = code;
    return this;
  }

  /**
   * Sets a response header on whatever this request answers with. It is
   * checked when the answer is sent: a name that is not an HTTP token, or
   * a value with a control character (CR, LF, NUL...) or a character above
   * U+00FF, makes the answer a 500 problem+json naming the header.
   */
  header(name: string, value: string): this {
    const headers = this.#headers ??= [];
    const lower = name.toLowerCase();
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === lower) {
        headers[i + 1] = value;
        return this;
      }
    }
    headers.push(lower, value);
    return this;
  }

  /** The status set with `status()` (200 by default). */
  get currentStatus(): number {
    return this.#status;
  }

  /** Applies headers set with `header()` to a reply. */
  applyHeaders(reply: Reply): Reply {
    const headers = this.#headers;
    if (headers !== null) {
      for (let i = 0; i < headers.length; i += 2) {
        // An error answer keeps its problem+json type.
        if (reply.problem && headers[i] === "content-type") continue;
        reply.set(headers[i], headers[i + 1]);
      }
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
