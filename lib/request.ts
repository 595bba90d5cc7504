import { HttpError } from "./http_error.ts";
import type { RequestSource } from "./_source.ts";
import { webRequest } from "./_web_request.ts";

const utf8 = new TextDecoder();
// A header name (RFC 9110 token), lower case.
const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * The incoming request, decoded lazily: each property is read from the
 * native request record the first time it is asked for, and nothing else
 * is. Body readers return promises, like a Web `Request`'s.
 *
 * A request is valid while its handler and middleware run; reading it after
 * the response was sent throws.
 *
 * @example Read a header, a cookie and a JSON body
 * ```ts
 * import { App } from "@ferry/ferry";
 * const app = new App();
 * app.post("/login", async (c) => {
 *   const agent = c.req.header("user-agent");
 *   const session = c.req.cookies["session"];
 *   const body = await c.req.json() as { user: string };
 *   return { agent, session, user: body.user };
 * });
 * const res = await app.fetch(new Request("http://localhost/login", {
 *   method: "POST",
 *   headers: { cookie: "session=abc", "user-agent": "demo" },
 *   body: JSON.stringify({ user: "ada" }),
 * }));
 * console.assert((await res.json()).user === "ada");
 * ```
 */
export class FerryRequest {
  #src: RequestSource;
  #method?: string;
  #path?: string;
  #headers?: Headers;
  #headerText?: string;
  #cookies?: Record<string, string>;
  #raw?: Request;

  /**
   * Made by Ferry for each request (as `c.req`).
   *
   * @param source Where the request's bytes are.
   */
  constructor(source: RequestSource) {
    this.#src = source;
  }

  /** Upper-case method, e.g. `"GET"`. */
  get method(): string {
    return this.#method ??= this.#src.method();
  }

  /** The path as sent, still percent-encoded, e.g. `"/users/a%20b"`. */
  get path(): string {
    return this.#path ??= this.#src.path();
  }

  /** The raw query string without `?` ("" when there is none). */
  get rawQuery(): string {
    return this.#src.query();
  }

  /** The full URL, rebuilt from the `Host` header, path and query. */
  get url(): string {
    // Every `serve()` request reads it (Hono routes on it): the host is
    // looked up by its known lower-case name, without header()'s checks.
    const host = this.#find("host") ?? "localhost";
    const query = this.#src.query();
    const base = "http://" + host + this.path;
    return query === "" ? base : base + "?" + query;
  }

  /**
   * Aborted when the client goes away before its answer is complete (or a
   * handler timeout or shutdown ends the request): pass it to `fetch()`,
   * database calls and timers to stop work nobody will receive.
   */
  get signal(): AbortSignal {
    return this.#src.signal();
  }

  /** Remote address as `ip:port`. */
  get remoteAddr(): string {
    return this.#src.remote();
  }

  /** All headers as a Web `Headers` (built on first use). */
  get headers(): Headers {
    if (this.#headers) return this.#headers;
    const headers = new Headers();
    for (const line of this.#lines()) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon);
      // HTTP/2 may split Cookie into several fields; they rejoin with "; ".
      if (name === "cookie") continue;
      headers.append(name, line.slice(colon + 1));
    }
    const cookie = this.header("cookie");
    if (cookie !== undefined) headers.set("cookie", cookie);
    return this.#headers = headers;
  }

  #lines(): string[] {
    return this.#text().split("\n");
  }

  /** Header lines, with a leading "\n" so every name follows one. */
  #text(): string {
    return this.#headerText ??= "\n" + this.#src.headerText();
  }

  /**
   * One header's value without building `Headers`; repeated headers are
   * joined with ", " (`Cookie` fields, which HTTP/2 may split, with "; ").
   * Names are case-insensitive; a name no header can have gives `undefined`.
   */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    if (!NAME.test(lower)) return undefined;
    return this.#find(lower);
  }

  /** A header's value by its lower-case name (a valid one). */
  #find(lower: string): string | undefined {
    if (this.#headers) return this.#headers.get(lower) ?? undefined;
    const text = this.#text();
    const key = "\n" + lower + ":";
    const glue = lower === "cookie" ? "; " : ", ";
    let found: string | undefined;
    let at = text.indexOf(key);
    while (at !== -1) {
      const start = at + key.length;
      const end = text.indexOf("\n", start);
      const value = text.slice(start, end === -1 ? undefined : end);
      found = found === undefined ? value : found + glue + value;
      at = text.indexOf(key, start);
    }
    return found;
  }

  /** Cookies from the `Cookie` header, by name. */
  get cookies(): Record<string, string> {
    if (this.#cookies) return this.#cookies;
    const cookies: Record<string, string> = {};
    for (const part of (this.header("cookie") ?? "").split(/;\s*/)) {
      const eq = part.indexOf("=");
      if (eq <= 0) continue;
      const name = part.slice(0, eq).trim();
      let value = part.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      try {
        value = decodeURIComponent(value);
      } catch { /* keep the raw value */ }
      if (!(name in cookies)) cookies[name] = value;
    }
    return this.#cookies = cookies;
  }

  /**
   * The body as a stream of chunks. A large or slow upload streams: its
   * chunks arrive as the client sends them, a window at a time, so a slow
   * reader slows the client instead of growing memory. A body that arrived
   * with the head is one chunk. `null` for GET and HEAD. Read it once,
   * either this way or with `text()`/`json()`/`bytes()`.
   *
   * @example Count the bytes of an upload as they arrive
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App();
   * app.put("/upload", async (c) => {
   *   let n = 0;
   *   for await (const chunk of c.req.body ?? []) n += chunk.length;
   *   return { bytes: n };
   * }, { bodyLimit: 4 * 1024 ** 3 });
   * ```
   */
  get body(): ReadableStream<Uint8Array> | null {
    const streamed = this.#src.bodyStream();
    if (streamed !== null) return streamed;
    if (this.method === "GET" || this.method === "HEAD") return null;
    const bytes = this.#src.body().slice();
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (bytes.length > 0) controller.enqueue(bytes);
        controller.close();
      },
    });
  }

  /** The whole body, read from its stream when it streams. */
  #whole(): Uint8Array | Promise<Uint8Array> {
    const streamed = this.#src.bodyStream();
    if (streamed === null) return this.#src.body();
    return new Response(streamed).arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }

  /** The body as a copy of its bytes. */
  async bytes(): Promise<Uint8Array> {
    const whole = this.#whole();
    return whole instanceof Uint8Array ? whole.slice() : await whole;
  }

  /** The body as an `ArrayBuffer`. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer as ArrayBuffer;
  }

  /** The body decoded as UTF-8. */
  text(): Promise<string> {
    const whole = this.#whole();
    if (whole instanceof Uint8Array) return Promise.resolve(utf8.decode(whole));
    return whole.then((bytes) => utf8.decode(bytes));
  }

  /** The body parsed as JSON; invalid JSON is an `HttpError(400)`. */
  json<T = unknown>(): Promise<T> {
    const whole = this.#whole();
    if (whole instanceof Uint8Array) return parseJson<T>(utf8.decode(whole));
    return whole.then((bytes) => parseJson<T>(utf8.decode(bytes)));
  }

  /** The body parsed as `multipart/form-data` or URL-encoded form. */
  formData(): Promise<FormData> {
    return this.raw.formData().catch((error) => {
      throw new HttpError(400, `The request body is not a valid form: ${error.message}`, {
        cause: error,
      });
    });
  }

  /**
   * The request as a Web `Request`, made on first use. Like Deno.serve's
   * own, it decodes nothing until asked (URL, headers and body are read
   * from this request when first read) and its headers cannot be changed;
   * its `signal` aborts when the request is over before its answer.
   */
  get raw(): Request {
    return this.#raw ??= webRequest(this, this.#src);
  }
}

function parseJson<T>(text: string): Promise<T> {
  try {
    return Promise.resolve(JSON.parse(text) as T);
  } catch (error) {
    return Promise.reject(
      new HttpError(400, `The request body is not valid JSON: ${(error as Error).message}`, {
        cause: error,
      }),
    );
  }
}
