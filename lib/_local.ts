// The native part of app.fetch: the server's native middleware and static
// mounts, run in-process by ffi/src/local.rs on a request that came from no
// socket, so app.fetch answers as the network does. app.fetch is not the
// hot path; data crosses as JSON (plus a body for static files).

import { lastError, native } from "./_native.ts";
import type { Native } from "./_symbols.ts";
import type { Reply } from "./reply.ts";
import { STATUS_TEXT } from "./http_error.ts";

/** The first step's outcome: Rust answered, or TypeScript answers next. */
export type LocalStep =
  | { kind: "answer"; response: Response }
  | { kind: "route"; ticket: number; headers: Headers };

interface Head {
  kind: "answer" | "route";
  status: number;
  headers: [string, string][];
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

// Frees the native side of an app that was garbage-collected unclosed.
const finalizer = new FinalizationRegistry<{ lib: Native; id: number }>(
  ({ lib, id }) => void lib.ferry_local_close(id),
);

/** One app's native part for app.fetch (made when it has any). */
export class LocalNative {
  #lib: Native;
  #id: number;
  #buf = new Uint8Array(16 * 1024);
  #token = {};
  /** Buffers of nonblocking calls in flight, held until Rust returns. */
  #inFlight = new Set<Uint8Array>();

  /** Opens it for a config of `statics` and `native` settings (as listen() sends). */
  constructor(config: { statics: unknown[]; native: Record<string, unknown> }) {
    this.#lib = native();
    const json = utf8.encode(JSON.stringify(config));
    this.#id = this.#lib.ferry_local_open(json, json.length);
    if (this.#id < 0) throw new Error(`Ferry could not start: ${lastError(this.#lib)}`);
    finalizer.register(this, { lib: this.#lib, id: this.#id }, this.#token);
  }

  /** Runs the request step: preflights, request ids, static files… */
  async request(request: Request, url: URL): Promise<LocalStep> {
    const json = utf8.encode(JSON.stringify({
      method: request.method,
      target: url.pathname + url.search,
      headers: [...request.headers],
    }));
    this.#inFlight.add(json);
    let ticket: number;
    try {
      ticket = await this.#lib.ferry_local_request(this.#id, json, json.length);
    } finally {
      this.#inFlight.delete(json);
    }
    if (ticket < 0) throw new Error(`app.fetch: ${lastError(this.#lib)}`);
    const [head, body] = this.#take(ticket);
    if (head.kind === "route") return { kind: "route", ticket, headers: new Headers(head.headers) };
    return { kind: "answer", response: response(head.status, head.headers, body) };
  }

  /**
   * Runs the response step on TypeScript's (sealed) answer; the body,
   * streamed or not, is the one `toResponse()` makes.
   */
  response(ticket: number, reply: Reply): Response {
    const headers: [string, string][] = [];
    reply.forEachHeader((name, value) => headers.push([name, value]));
    const json = utf8.encode(JSON.stringify({ status: reply.status, headers }));
    const done = this.#lib.ferry_local_response(this.#id, ticket, json, json.length);
    if (done < 0) throw new Error(`app.fetch: ${lastError(this.#lib)}`);
    const [head] = this.#take(ticket);
    const made = reply.toResponse();
    return new Response(made.body, {
      status: head.status,
      statusText: made.statusText,
      headers: head.headers,
    });
  }

  /** Drops a request whose answer will never come. */
  forget(ticket: number): void {
    this.#lib.ferry_local_forget(this.#id, ticket);
  }

  /** Frees the native side. */
  close(): void {
    finalizer.unregister(this.#token);
    this.#lib.ferry_local_close(this.#id);
  }

  #take(ticket: number): [Head, Uint8Array] {
    let n = this.#lib.ferry_local_take(this.#id, ticket, this.#buf, this.#buf.length);
    if (n > this.#buf.length) {
      this.#buf = new Uint8Array(n);
      n = this.#lib.ferry_local_take(this.#id, ticket, this.#buf, this.#buf.length);
    }
    if (n < 0) throw new Error(`app.fetch: ${lastError(this.#lib)}`);
    const out = this.#buf.subarray(0, n);
    const line = out.indexOf(0x0a);
    return [JSON.parse(text.decode(out.subarray(0, line))), out.slice(line + 1)];
  }
}

function response(status: number, headers: [string, string][], body: Uint8Array | null) {
  const empty = status === 204 || status === 304 || status < 200;
  return new Response(empty ? null : body as BodyInit | null, {
    status,
    statusText: STATUS_TEXT[status] ?? "",
    headers,
  });
}
