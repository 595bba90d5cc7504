import { STATUS_TEXT } from "./http_error.ts";
import { validHeader } from "./_header_check.ts";

/** A response body Ferry can send without a stream. */
export type ReplyBody = string | Uint8Array | null;

import { TEXT } from "./_media.ts";

/**
 * The response a handler builds with `c.text`, `c.json`, `c.html`, `c.body`
 * or `c.redirect`. It is a light stand-in for a Web `Response`: the body is
 * kept as a string or bytes and encoded straight into the native response
 * record, so no `Response` object or stream is created per request.
 * Middleware may change `status` and `headers` in place; `toResponse()`
 * gives a Web `Response` when one is needed.
 *
 * @example Adjust a reply in after-middleware
 * ```ts
 * import { App } from "@ferry/ferry";
 * const app = new App();
 * app.get("/", (c) => c.json({ ok: true }));
 * app.after((_c, res) => { res.headers.set("x-served-by", "ferry"); });
 * const res = await app.fetch(new Request("http://localhost/"));
 * console.assert(res.headers.get("x-served-by") === "ferry");
 * ```
 */
export class Reply {
  /** HTTP status. */
  status: number;
  /** The body: text, bytes or none. */
  body: ReplyBody;
  /**
   * An error answer made by Ferry (problem+json): headers set with
   * `c.header()` apply to it, except `content-type`.
   */
  problem = false;
  #pairs: string[] | null;
  #headers: Headers | null = null;

  /**
   * A reply; usually made with `c.text()`, `c.json()` and friends.
   *
   * @param body Text, bytes or `null`.
   * @param status HTTP status (default 200).
   * @param contentType `content-type` to send, if any.
   */
  constructor(body: ReplyBody, status = 200, contentType?: string) {
    checkStatus(status);
    this.body = body;
    this.status = status;
    this.#pairs = contentType === undefined ? [] : ["content-type", contentType];
  }

  /** The response headers as a Web `Headers` (made on first use). */
  get headers(): Headers {
    if (this.#headers === null) {
      const headers = new Headers();
      const pairs = this.#pairs!;
      for (let i = 0; i < pairs.length; i += 2) {
        headers.append(pairs[i], pairs[i + 1]);
      }
      this.#headers = headers;
      this.#pairs = null;
    }
    return this.#headers;
  }

  /**
   * Sets a header, replacing any with the same name. A name that is not an
   * HTTP token or a value with CR, LF or NUL is refused and logged: it is
   * never written to the wire.
   */
  set(name: string, value: string): this {
    if (!validHeader(name, value)) return this;
    if (this.#pairs === null) {
      this.#headers!.set(name, value);
      return this;
    }
    const lower = name.toLowerCase();
    const pairs = this.#pairs;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === lower) {
        pairs[i + 1] = value;
        return this;
      }
    }
    pairs.push(lower, value);
    return this;
  }

  /** Whether a header is present. */
  has(name: string): boolean {
    if (this.#pairs === null) return this.#headers!.has(name);
    const lower = name.toLowerCase();
    for (let i = 0; i < this.#pairs.length; i += 2) {
      if (this.#pairs[i] === lower) return true;
    }
    return false;
  }

  /** The headers as `name:value\n` lines (used by the encoder). */
  headerLines(): string {
    let lines = "";
    if (this.#pairs !== null) {
      const pairs = this.#pairs;
      for (let i = 0; i < pairs.length; i += 2) lines += pairs[i] + ":" + pairs[i + 1] + "\n";
    } else {
      for (const [name, value] of this.#headers!) lines += name + ":" + value + "\n";
    }
    return lines;
  }

  /** Calls `fn` for each header, in order. */
  forEachHeader(fn: (name: string, value: string) => void): void {
    if (this.#pairs !== null) {
      const pairs = this.#pairs;
      for (let i = 0; i < pairs.length; i += 2) fn(pairs[i], pairs[i + 1]);
    } else {
      for (const [name, value] of this.#headers!) fn(name, value);
    }
  }

  /** A Web `Response` with the same status, headers and body. */
  toResponse(): Response {
    const headers = new Headers();
    this.forEachHeader((name, value) => headers.append(name, value));
    const noBody = this.status === 204 || this.status === 304 ||
      this.status < 200;
    // Bytes, not a string: a string body would make Response add a
    // text/plain content-type that the network path does not send.
    const body = typeof this.body === "string" ? new TextEncoder().encode(this.body) : this.body;
    return new Response(noBody ? null : body as BodyInit | null, {
      status: this.status,
      statusText: STATUS_TEXT[this.status] ?? "",
      headers,
    });
  }

  /** Text reply with `text/plain; charset=utf-8`. */
  static text(text: string, status = 200): Reply {
    return new Reply(text, status, TEXT);
  }

  /** Copies a Web `Response` (reading its body) into a `Reply`. */
  static async fromResponse(response: Response): Promise<Reply> {
    const body = response.body === null ? null : new Uint8Array(await response.arrayBuffer());
    const reply = new Reply(body, response.status);
    for (const [name, value] of response.headers) {
      if (name === "set-cookie") continue;
      reply.set(name, value);
    }
    for (const cookie of response.headers.getSetCookie()) {
      reply.headers.append("set-cookie", cookie);
    }
    return reply;
  }
}

/** Throws a RangeError for a status HTTP cannot carry (below 200 or above 599). */
export function checkStatus(status: number): void {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(`HTTP status must be an integer from 200 to 599, got ${status}`);
  }
}
