// What a Web `Response` sends, read where Deno.serve reads it: the status,
// header list and static body Deno keeps inside every Response (a string or
// bytes, as given to the constructor). Going through the public API instead
// costs a `Headers` object (sorted, combined) and a ReadableStream per
// answer, which made `serve()` slower than Deno.serve (docs/dev_loop.md, "Numbers").
//
// It leans on Deno's internals (ext/fetch/23_response.js: the `response`
// field and the "serve fast" fields Deno.serve itself reads), so it checks
// them once at start-up; `responseParts()` gives `undefined` whenever a
// Response is not in a shape it knows, and the caller takes the public way.

/** What to send for a Response whose body is whole. */
export interface ResponseParts {
  status: number;
  /** `[name, value]` pairs in order, names in any case; repeated names repeat. */
  headers: readonly (readonly [string, string])[];
  body: string | Uint8Array | null;
}

/** Deno's inner response (`newInnerResponse`). */
interface InnerResponse {
  type: string;
  status: number;
  headerList: [string, string][];
  body: { streamOrStatic: unknown; consumed(): boolean } | null;
  bodyDecoded: boolean;
}

interface Internals {
  inner: symbol;
  fastStatus: symbol;
  fastBody: symbol;
  fastKind: symbol;
  fastType: symbol;
  fastConsumed: symbol;
  lazyBody: symbol;
  lazyType: symbol;
  native: symbol;
}

/** Deno's `SERVE_FAST_HEADER_*`: which content-type a fast Response has. */
const KIND_DEFAULT_TEXT = 1;
const KIND_CONTENT_TYPE = 2;
const DEFAULT_TEXT = "text/plain;charset=UTF-8";
const NO_HEADERS: readonly (readonly [string, string])[] = [];

const INTERNALS: Internals | undefined = probe();

/** Whether Responses are read through Deno's internals here (for tests). */
export const FAST_RESPONSES: boolean = INTERNALS !== undefined;

/**
 * The status, headers and whole body of `response`, when its body is a
 * string or bytes not yet read; `undefined` otherwise (a stream, a body
 * already used, an unknown shape): then use the public API.
 */
export function responseParts(response: Response): ResponseParts | undefined {
  return INTERNALS === undefined ? undefined : partsOf(INTERNALS, response);
}

function partsOf(k: Internals, response: Response): ResponseParts | undefined {
  const fields = response as unknown as Record<symbol, unknown>;
  const inner = fields[k.inner] as InnerResponse | undefined;
  if (inner === undefined || inner.type === "error" || fields[k.fastConsumed]) return undefined;
  const fast = fields[k.fastStatus];
  if (fast !== 0) {
    // Made from a string or bytes, with at most a content-type: the head
    // is in the fast fields (its header list may not be filled yet).
    const body = fields[k.fastBody];
    if (typeof fast !== "number" || !isStatic(body)) return undefined;
    // A body still lazy is unread; one made concrete may have been read.
    if (fields[k.lazyBody] == null && inner.body !== null && inner.body.consumed()) {
      return undefined;
    }
    const kind = fields[k.fastKind];
    const type = kind === KIND_DEFAULT_TEXT
      ? DEFAULT_TEXT
      : kind === KIND_CONTENT_TYPE
      ? fields[k.fastType]
      : null;
    if (type !== null && typeof type !== "string") return undefined;
    return {
      status: fast,
      headers: type === null ? NO_HEADERS : [["content-type", type]],
      body,
    };
  }
  // Not fast: everything is in the inner response (nothing lazy is left).
  if (fields[k.lazyBody] != null || fields[k.lazyType] != null || inner.bodyDecoded) {
    return undefined;
  }
  // Deno made a native copy of this answer for its own server, freed when
  // Deno.serve sends it or, else, only when the Response is collected:
  // hundreds of MiB of RSS under load, and slower. Reading `headers` frees
  // it now (and makes a Headers over the same list, which is cheap).
  if (fields[k.native] != null) void response.headers;
  let body: string | Uint8Array | null = null;
  if (inner.body !== null) {
    const whole = inner.body.streamOrStatic as { body?: unknown; consumed?: unknown };
    if (whole instanceof ReadableStream || whole.consumed !== false || !isStatic(whole.body)) {
      return undefined;
    }
    body = whole.body;
  }
  return { status: inner.status, headers: inner.headerList, body };
}

function isStatic(body: unknown): body is string | Uint8Array {
  return typeof body === "string" || body instanceof Uint8Array;
}

/** Finds Deno's fields and checks they read right on Responses of each shape. */
function probe(): Internals | undefined {
  try {
    const symbols = Object.getOwnPropertySymbols(new Response("probe"));
    const named = (description: string) => {
      const found = symbols.find((s) => s.description === description);
      if (found === undefined) throw new Error(`no ${description}`);
      return found;
    };
    const internals: Internals = {
      inner: named("response"),
      fastStatus: named("serve fast status"),
      fastBody: named("serve fast body"),
      fastKind: named("serve fast header kind"),
      fastType: named("serve fast content type"),
      fastConsumed: named("serve fast consumed"),
      lazyBody: named("lazy static body"),
      lazyType: named("lazy static content type"),
      native: named("serve native response"),
    };
    return selfTest(internals) ? internals : undefined;
  } catch {
    return undefined;
  }
}

function selfTest(internals: Internals): boolean {
  const bytes = new Uint8Array([1, 2]);
  const used = new Response("c", { headers: { "x-c": "3" } });
  used.body!.getReader();
  const cases: [Response, ResponseParts | undefined][] = [
    [new Response("a"), { status: 200, headers: [["content-type", DEFAULT_TEXT]], body: "a" }],
    [Response.json(1), { status: 200, headers: [["content-type", "application/json"]], body: "1" }],
    [new Response(bytes), { status: 200, headers: [], body: bytes }],
    [
      new Response("b", { status: 201, headers: { "x-a": "1", "content-type": "t/x" } }),
      { status: 201, headers: [["x-a", "1"], ["content-type", "t/x"]], body: "b" },
    ],
    [
      new Response(null, { status: 204, headers: { "x-b": "2" } }),
      { status: 204, headers: [["x-b", "2"]], body: null },
    ],
    [new Response(new ReadableStream()), undefined],
    [used, undefined],
  ];
  return cases.every(([response, expected]) => same(partsOf(internals, response), expected));
}

function same(a: ResponseParts | undefined, b: ResponseParts | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const lower = (h: readonly (readonly [string, string])[]) =>
    JSON.stringify(h.map(([n, v]) => [n.toLowerCase(), v]));
  return a.status === b.status && lower(a.headers) === lower(b.headers) &&
    (a.body instanceof Uint8Array && b.body instanceof Uint8Array
      ? a.body.join() === b.body.join()
      : a.body === b.body);
}
