// A Web `Request` over a Ferry request that decodes nothing until asked,
// made the way Deno.serve makes its own: a branded, empty Request (Deno's
// `fromInnerRequest`) holding an inner request whose URL, headers and body
// are read from the slot on first use. `instanceof Request`, `clone()`,
// `new Request(req)`, `fetch(req)`, `signal` and every body reader work as
// on any Request, because it is one. Building a Request the public way (URL
// parsing, a Headers copy, WebIDL conversions) cost `serve()` more per
// request than Deno.serve spends in all (docs/dev_loop.md, "Numbers").
//
// It leans on Deno's internals (ext/fetch/23_request.js: the `request` and
// `headers guard` fields, the WebIDL brand, the inner request's shape), so
// it checks them once at start-up and falls back to `new Request()` when
// they are not what it expects: slower, never wrong.

import type { RequestSource } from "./_source.ts";

/** What the lazy request reads from a Ferry request (`FerryRequest` has all of it). */
export interface RequestParts {
  /** Upper-case method. */
  readonly method: string;
  /** The full URL. */
  readonly url: string;
  /** All headers (built on first use; only a full listing needs them). */
  readonly headers: Headers;
  /** Aborted when the request is over before its answer. */
  readonly signal: AbortSignal;
  /** One header's value, case-insensitive. */
  header(name: string): string | undefined;
}

/** Deno's InnerBody (ext/fetch/22_body.js): a body, static or streamed. */
interface InnerBody {
  length: number | null;
}

type InnerBodyClass = new (
  body: ReadableStream<Uint8Array> | { body: Uint8Array | string; consumed: boolean },
) => InnerBody;

interface Internals {
  /** `new Request(brand)` is an empty branded Request (Deno's own shortcut). */
  brand: symbol;
  /** The field holding the inner request. */
  inner: symbol;
  /** The field holding the headers' guard. */
  guard: symbol;
  InnerBody: InnerBodyClass;
}

const utf8 = new TextDecoder();

/**
 * The inner request Deno's `Request` reads: the fields and methods of
 * `newInnerRequest` (ext/fetch/23_request.js) plus the `header()`,
 * `consumeTextBody()` and `onCancel()` of Deno.serve's own (ext/http).
 */
class LazyInnerRequest {
  headerListInner: [string, string][] | null = null;
  redirectMode = "follow";
  redirectCount = 0;
  urlListProcessed: string[] = [];
  clientRid = null;
  blobUrlEntry = null;
  methodInner: string | undefined = undefined;
  #parts: RequestParts;
  #src: RequestSource;
  #InnerBody: InnerBodyClass;
  #body: InnerBody | null | undefined = undefined;
  #urlList: (() => string)[] | undefined = undefined;

  constructor(parts: RequestParts, src: RequestSource, InnerBody: InnerBodyClass) {
    this.#parts = parts;
    this.#src = src;
    this.#InnerBody = InnerBody;
  }

  get method(): string {
    return this.methodInner ??= this.#parts.method;
  }
  set method(method: string) {
    this.methodInner = method;
  }

  get headerList(): [string, string][] {
    return this.headerListInner ??= Array.from(this.#parts.headers);
  }
  set headerList(list: [string, string][]) {
    this.headerListInner = list;
  }

  /** One header, for Headers.get before anything lists them. */
  header(name: string): string | null {
    return this.#parts.header(name) ?? null;
  }

  get urlList(): (() => string)[] {
    return this.#urlList ??= [() => this.#parts.url];
  }
  set urlList(list: (() => string)[]) {
    this.#urlList = list;
  }

  url(): string {
    // Deno's Request reads this for `url`; no urlList (an array and a
    // closure) is made unless something asks for the list itself.
    return this.urlListProcessed[0] ??= this.#urlList === undefined
      ? this.#parts.url
      : this.#urlList[0]();
  }

  currentUrl(): string {
    const last = this.urlList.length - 1;
    return this.urlListProcessed[last] ??= this.urlList[last]();
  }

  get body(): InnerBody | null {
    if (this.#body !== undefined) return this.#body;
    if (this.#noBody()) return this.#body = null;
    const streamed = this.#src.bodyStream();
    if (streamed !== null) return this.#body = new this.#InnerBody(streamed);
    // A copy: the slot's bytes go back to Rust with the answer, and a body
    // may be read after that (a stream handed on, a clone).
    const bytes = this.#src.body().slice();
    const body = new this.#InnerBody({ body: bytes, consumed: false });
    body.length = bytes.length;
    return this.#body = body;
  }
  set body(body: InnerBody | null) {
    this.#body = body;
  }

  /** `json()`'s shortcut: the whole body as text, straight from the slot. */
  consumeTextBody(): string | null {
    if (this.#body !== undefined) return null;
    if (this.#noBody()) {
      this.#body = null;
      return "";
    }
    if (this.#src.bodyStream() !== null) return null;
    const text = utf8.decode(this.#src.body());
    this.#body = new this.#InnerBody({ body: text, consumed: true });
    return text;
  }

  /** Called when `signal` is first read: abort it when the request is over early. */
  onCancel(abort: () => void): void {
    this.#parts.signal.addEventListener("abort", () => abort(), { once: true });
  }

  #noBody(): boolean {
    const method = this.method;
    return method === "GET" || method === "HEAD";
  }
}

const INTERNALS: Internals | undefined = probe();

/**
 * A Web `Request` for a Ferry request: lazy over the slot when Deno's
 * internals are as expected, else a plain `new Request()` (body copied).
 */
export function webRequest(parts: RequestParts, src: RequestSource): Request {
  return INTERNALS === undefined ? eagerRequest(parts, src) : lazyRequest(INTERNALS, parts, src);
}

/** Whether requests are lazy here (for tests). */
export const LAZY_REQUESTS: boolean = INTERNALS !== undefined;

function lazyRequest(internals: Internals, parts: RequestParts, src: RequestSource): Request {
  const request = new Request(internals.brand as unknown as string);
  const fields = request as unknown as Record<symbol, unknown>;
  fields[internals.inner] = new LazyInnerRequest(parts, src, internals.InnerBody);
  // As Deno.serve's requests: their headers cannot be changed.
  fields[internals.guard] = "immutable";
  return request;
}

/** The public way: what `webRequest` gives when the internals are not there. */
export function eagerRequest(parts: RequestParts, src: RequestSource): Request {
  const method = parts.method;
  const body = method === "GET" || method === "HEAD"
    ? null
    : src.bodyStream() ?? src.body().slice();
  return new Request(parts.url, { method, headers: parts.headers, body, signal: parts.signal });
}

/** Finds Deno's fields and checks a lazy request built on them reads right. */
function probe(): Internals | undefined {
  try {
    const sample = new Request("http://probe/", { method: "POST", body: "x" });
    const symbols = Object.getOwnPropertySymbols(sample);
    const named = (description: string) => symbols.find((s) => s.description === description);
    const brand = named("[[webidl.brand]]");
    const inner = named("request");
    const guard = named("headers guard");
    if (brand === undefined || inner === undefined || guard === undefined) return undefined;
    const sampleInner = (sample as unknown as Record<symbol, { body?: object }>)[inner];
    const InnerBody = sampleInner?.body?.constructor as InnerBodyClass | undefined;
    if (typeof InnerBody !== "function") return undefined;
    const internals: Internals = { brand, inner, guard, InnerBody };
    return selfTest(internals) ? internals : undefined;
  } catch {
    return undefined;
  }
}

function selfTest(internals: Internals): boolean {
  const lines: [string, string][] = [["host", "probe:1"], ["x-a", "1"]];
  const parts: RequestParts = {
    method: "PUT",
    url: "http://probe:1/p?q=1",
    get headers() {
      return new Headers(lines);
    },
    signal: new AbortController().signal,
    header: (name) => lines.find(([n]) => n === name.toLowerCase())?.[1],
  };
  const body = new TextEncoder().encode("{}");
  const src = {
    bodyStream: () => null,
    body: () => body,
  } as unknown as RequestSource;
  const request = lazyRequest(internals, parts, src);
  const read = request instanceof Request && request.method === "PUT" &&
    request.url === parts.url && request.headers.get("X-A") === "1" &&
    request.headers.get("nope") === null && !request.bodyUsed;
  const clone = request.clone();
  const copy = new Request(request);
  return read && clone.method === "PUT" && clone.url === parts.url &&
    clone.body instanceof ReadableStream && copy.url === parts.url &&
    copy.headers.get("x-a") === "1" && [...request.headers].length === 2;
}
