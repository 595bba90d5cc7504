import { STATUS_TEXT } from "./http_error.ts";
import { headerProblem } from "./_header_check.ts";
import { ReadableSource, type StreamSource, toReadable } from "./_stream.ts";
import { responseParts } from "./_web_response.ts";

/** Bytes a streamed body may have on its way to a slow client before writes wait. */
export const STREAM_HIGH_WATER_MARK = 64 * 1024;

/** A response body Ferry can send without a stream. */
export type ReplyBody = string | Uint8Array | null;

import { PROBLEM, TEXT } from "./_media.ts";

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
   * A streamed body (a `ReadableStream`, `c.stream()`, `c.sse()`): the head
   * goes out at once and chunks follow as they are written; `body` is then
   * `null`. Internal: set through `c.stream()`, `c.sse()` or a `Response`.
   *
   * @ignore
   */
  stream: StreamSource | undefined = undefined;
  /**
   * An error answer made by Ferry (problem+json): headers set with
   * `c.header()` apply to it, except `content-type`.
   */
  problem = false;
  #pairs: string[] | null;
  #headers: Headers | null = null;
  /**
   * Headers a Web `Headers` cannot hold (name, value, ...), kept once
   * `headers` is in use so that `sealed()` refuses them like any other
   * instead of `Headers` throwing wherever they happened to be set.
   */
  #unsendable: string[] | null = null;

  /**
   * A reply; usually made with `c.text()`, `c.json()` and friends.
   *
   * @param body Text, bytes or `null`.
   * @param status HTTP status (default 200).
   * @param contentType `content-type` to send, if any; checked like every
   *   header when the reply is sent (see `sealed()`).
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
        if (headerProblem(pairs[i], pairs[i + 1]) === undefined) {
          headers.append(pairs[i], pairs[i + 1]);
        } else {
          (this.#unsendable ??= []).push(pairs[i], pairs[i + 1]);
        }
      }
      this.#headers = headers;
      this.#pairs = null;
    }
    return this.#headers;
  }

  /**
   * Sets a header, replacing any with the same name. Headers are checked
   * when the reply is sent: a name that is not an HTTP token, or a value
   * with a control character (CR, LF, NUL...) or a character above U+00FF,
   * makes the answer a 500 problem+json naming the header (see `sealed()`).
   */
  set(name: string, value: string): this {
    if (this.#pairs === null) {
      // As in pair mode, the new value replaces an earlier one, sendable or not.
      const unsendable = this.#unsendable;
      if (unsendable !== null) {
        const lower = name.toLowerCase();
        for (let i = unsendable.length - 2; i >= 0; i -= 2) {
          if (unsendable[i].toLowerCase() === lower) unsendable.splice(i, 2);
        }
        if (unsendable.length === 0) this.#unsendable = null;
      }
      if (headerProblem(name, value) === undefined) {
        this.#headers!.set(name, value);
      } else {
        try {
          this.#headers!.delete(name);
        } catch {
          // Not a token: Headers never held it.
        }
        (this.#unsendable ??= []).push(name, value);
      }
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

  /**
   * Adds a header line, keeping earlier ones with the same name (for
   * `set-cookie`, `link`, `vary`…); checked when sent, as with `set()`.
   */
  append(name: string, value: string): this {
    if (this.#pairs !== null) {
      this.#pairs.push(name.toLowerCase(), value);
    } else if (headerProblem(name, value) === undefined) {
      this.#headers!.append(name, value);
    } else {
      (this.#unsendable ??= []).push(name, value);
    }
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

  /**
   * What is sent for this reply: the reply itself when every header may be
   * sent, else a 500 problem+json naming the first header that may not
   * (logged). Every way out calls it (the network writer, `toResponse()`
   * for `app.fetch`, const routes), so it is the one place response headers
   * are checked, and both paths give the same answer.
   *
   * A refused header fails the whole answer rather than being dropped: a
   * dropped `content-type` lets a browser sniff the body as HTML, and a
   * dropped `location` or `set-cookie` silently changes what the handler
   * meant; a 500 that names the header shows the bug where it is.
   */
  sealed(): Reply {
    let name: string | undefined;
    let why: string | undefined;
    const refused = this.#unsendable;
    if (refused !== null) {
      name = refused[0];
      why = headerProblem(name, refused[1]);
    } else if (this.#pairs !== null) {
      const pairs = this.#pairs;
      for (let i = 0; i < pairs.length && why === undefined; i += 2) {
        name = pairs[i];
        why = headerProblem(name, pairs[i + 1]);
      }
    } else {
      // Web Headers already refuse most of these; checked all the same.
      for (const [n, v] of this.#headers!) {
        name = n;
        why = headerProblem(n, v);
        if (why !== undefined) break;
      }
    }
    if (why === undefined) return this;
    const detail = `response header ${JSON.stringify(name)} was refused: ${why}`;
    console.error(`ferry: ${detail}; answering 500 instead`);
    this.stream?.cancel(new Error(detail));
    return problem(500, detail);
  }

  /** The headers as `name:value\n` lines (used by the encoder, after `sealed()`). */
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

  /**
   * A Web `Response` with the same status, headers and body, as the network
   * would send it (a header that may not be sent makes it the same 500).
   */
  toResponse(): Response {
    const sent = this.sealed();
    const headers = new Headers();
    sent.forEachHeader((name, value) => headers.append(name, value));
    const noBody = sent.status === 204 || sent.status === 304 ||
      sent.status < 200;
    // Bytes, not a string: a string body would make Response add a
    // text/plain content-type that the network path does not send.
    let body: BodyInit | null = typeof sent.body === "string"
      ? new TextEncoder().encode(sent.body)
      : sent.body as BodyInit | null;
    if (sent.stream) {
      if (noBody) sent.stream.cancel(new Error("this status has no body"));
      else body = toReadable(sent.stream, STREAM_HIGH_WATER_MARK);
    }
    return new Response(noBody ? null : body, {
      status: sent.status,
      statusText: STATUS_TEXT[sent.status] ?? "",
      headers,
    });
  }

  /** Text reply with `text/plain; charset=utf-8`. */
  static text(text: string, status = 200): Reply {
    return new Reply(text, status, TEXT);
  }

  /**
   * A reply whose body is produced by `source` while it is sent (see
   * `c.stream()` and `c.sse()`).
   *
   * @ignore
   */
  static streamed(source: StreamSource, status = 200, contentType?: string): Reply {
    const reply = new Reply(null, status, contentType);
    reply.stream = source;
    return reply;
  }

  /**
   * A Web `Response` as a `Reply`: same status and headers. A body made
   * from a string or bytes goes out as is; any other body is streamed (one
   * that ends before the next commit goes out whole, with
   * `content-length`).
   */
  static fromResponse(response: Response): Reply {
    if (response.status === 101) {
      // Deno.upgradeWebSocket() (directly, or through Hono's upgradeWebSocket
      // on serve()) answers 101 for a request Deno's own server never saw.
      throw new TypeError(
        "Deno.upgradeWebSocket() cannot upgrade a request served by Ferry's native core: " +
          "register the route with app.ws(path, { open, message, close }) instead (docs/websockets.md)",
      );
    }
    // The common case, read where Deno.serve reads it: a whole body, and
    // the header list as is (no Headers object, no stream).
    const parts = responseParts(response);
    if (parts !== undefined) {
      const reply = new Reply(parts.body, parts.status);
      const headers = parts.headers;
      for (let i = 0; i < headers.length; i++) reply.append(headers[i][0], headers[i][1]);
      return reply;
    }
    const whole = staticBody(response);
    const reply = whole !== undefined
      ? new Reply(whole, response.status)
      : response.body === null
      ? new Reply(null, response.status)
      : Reply.streamed(new ReadableSource(response.body), response.status);
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

/**
 * Deno keeps the body of a `Response` made from a string or bytes as is,
 * under a symbol its own server reads ("serve fast body"). Reading it skips
 * a ReadableStream, a reader and a stream slot per answer: `serve()` with a
 * Hono app spent ~15 µs more per request without it. When the symbol is
 * missing (another runtime or version) every body streams, which is
 * correct, only slower.
 */
const FAST_BODY: symbol | undefined = (() => {
  try {
    const probe = new Response("probe");
    const found = Object.getOwnPropertySymbols(probe).find((s) =>
      s.description === "serve fast body"
    );
    const value = found && (probe as unknown as Record<symbol, unknown>)[found];
    return value === "probe" ? found : undefined;
  } catch {
    return undefined;
  }
})();

/** The whole body of a Response made from a string or bytes, unread. */
function staticBody(response: Response): string | Uint8Array | undefined {
  if (FAST_BODY === undefined || response.bodyUsed) return undefined;
  const value = (response as unknown as Record<symbol, unknown>)[FAST_BODY];
  return typeof value === "string" || value instanceof Uint8Array ? value : undefined;
}

/** A problem+json (RFC 9457) reply. */
export function problem(status: number, detail: string): Reply {
  const body = JSON.stringify({
    type: "about:blank",
    title: STATUS_TEXT[status] ?? "Error",
    status,
    detail,
  });
  const reply = new Reply(body, status, PROBLEM);
  reply.problem = true;
  return reply;
}

/** Throws a RangeError for a status HTTP cannot carry (below 200 or above 599). */
export function checkStatus(status: number): void {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(`HTTP status must be an integer from 200 to 599, got ${status}`);
  }
}
