/**
 * Native middleware: configured in TypeScript, run in Rust around the
 * TypeScript part of each request, with no FFI crossing. Register with
 * `app.use(...)`, like any middleware. Each one also applies to responses
 * Rust makes alone (const routes, static files, 404s, errors), and to the
 * early answers of the others (a 429 still carries CORS and a request id).
 *
 * @module
 */

/** Settings sent to Rust once, at `listen()`; each factory fills one key. */
export type NativeSettings = Record<string, unknown>;

/**
 * A middleware that runs in Rust. Created by the factories in this module
 * (`cors()`, `compress()`, …) and registered with `app.use()`.
 *
 * @example
 * ```ts
 * import { App, NativeMiddleware } from "@ferry/ferry";
 * const custom = new NativeMiddleware("securityHeaders", {});
 * new App().use(custom);
 * ```
 */
export class NativeMiddleware {
  /** The settings key this middleware fills (e.g. `"cors"`). */
  readonly key: string;
  /** Its settings, serialised to JSON for Rust. */
  readonly settings: unknown;

  /**
   * Wraps settings for the Rust side; the factories below are the usual way.
   *
   * @param key Settings key understood by the Rust side.
   * @param settings JSON-serialisable settings.
   */
  constructor(key: string, settings: unknown) {
    this.key = key;
    this.settings = settings;
  }

  /** Adds this middleware's settings to `target`. */
  applyTo(target: NativeSettings): void {
    if (this.key in target) {
      throw new TypeError(`Native middleware "${this.key}" is registered twice`);
    }
    target[this.key] = this.settings;
  }
}

function count(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a number from ${min} to ${max}, got "${value}"`);
  }
  return value;
}

function list(name: string, value: string | string[]): string[] {
  const items = typeof value === "string" ? [value] : value;
  if (!Array.isArray(items) || items.some((item) => typeof item !== "string")) {
    throw new TypeError(`${name} must be a string or an array of strings`);
  }
  return items;
}

/** Options of {@linkcode cors}. */
export interface CorsOptions {
  /**
   * Allowed origins: `"*"` (any, answered `*`), one origin or a list of
   * exact origins such as `"https://app.example"`. A listed origin matches
   * only exactly (scheme, host and port); the opaque origin `null` sent by
   * sandboxed frames and `file:` pages matches only when `"null"` is listed.
   * `"*"` cannot be combined with `credentials`: list the origins.
   * @default {"*"}
   */
  origin?: string | string[];
  /** Methods a preflight allows. @default {["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]} */
  methods?: string[];
  /**
   * Request headers a preflight allows; empty echoes the preflight's
   * `Access-Control-Request-Headers`.
   * @default {[]}
   */
  allowHeaders?: string[];
  /** Response headers scripts may read (`Access-Control-Expose-Headers`). @default {[]} */
  exposeHeaders?: string[];
  /**
   * Sends `Access-Control-Allow-Credentials: true` (cookies and HTTP auth
   * on cross-origin requests) to the listed origins. Needs an explicit
   * `origin` list: with `"*"`, `cors()` throws a `TypeError`.
   * @default {false}
   */
  credentials?: boolean;
  /** Seconds a browser may cache a preflight; unset sends no header. @default {undefined} */
  maxAge?: number;
}

/**
 * CORS in Rust: preflights (`OPTIONS` with `Access-Control-Request-Method`)
 * are answered 204 before routing, with no crossing; every other response
 * gets `Access-Control-Allow-Origin` (and `Vary: Origin` unless the origin
 * is `"*"`) exactly once, even when it came from an early return or an
 * error, and never when the handler set its own. An origin not listed
 * gets no CORS headers, which the browser treats as a refusal.
 *
 * @throws {TypeError} When `credentials` is combined with the origin
 * `"*"`: echoing any origin with credentials would let every site read
 * responses made with the user's cookies.
 *
 * @example
 * ```ts
 * import { App, cors } from "@ferry/ferry";
 * const app = new App().use(cors({ origin: ["https://app.example"], maxAge: 600 }));
 * app.get("/api", () => ({ ok: true }));
 * ```
 *
 * @example With cookies: the origins must be listed
 * ```ts
 * import { App, cors } from "@ferry/ferry";
 * new App().use(cors({ origin: ["https://app.example"], credentials: true }));
 * ```
 */
export function cors(options: CorsOptions = {}): NativeMiddleware {
  const origin = list("cors() origin", options.origin ?? "*");
  if (options.credentials && origin.includes("*")) {
    throw new TypeError(
      'cors() cannot combine credentials with the origin "*", which would let any site read ' +
        "responses made with the user's cookies; list the allowed origins explicitly, " +
        'e.g. cors({ origin: ["https://app.example"], credentials: true })',
    );
  }
  return new NativeMiddleware("cors", {
    origin,
    methods: list(
      "cors() methods",
      options.methods ?? ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"],
    ),
    allowHeaders: list("cors() allowHeaders", options.allowHeaders ?? []),
    exposeHeaders: list("cors() exposeHeaders", options.exposeHeaders ?? []),
    credentials: options.credentials ?? false,
    maxAge: options.maxAge === undefined
      ? null
      : Math.floor(count("cors() maxAge", options.maxAge, 0)),
  });
}

/** Options of {@linkcode compress}. */
export interface CompressOptions {
  /** Smallest body compressed, in bytes. @default {1024} */
  threshold?: number;
  /** Codings offered, preferred first when the client rates them equally. @default {["br", "gzip"]} */
  encodings?: ("br" | "gzip")[];
  /** gzip level, 1 (fast) to 9 (small). @default {6} */
  gzipLevel?: number;
  /** brotli quality, 1 to 11; above 5 costs much CPU per request. @default {4} */
  brotliQuality?: number;
}

/**
 * Compresses in-memory response bodies in Rust with brotli or gzip, as the
 * request's `Accept-Encoding` allows (q-values honoured, `br` preferred on
 * a tie, every header line read). The header is read exactly as static
 * files read it to pick a precompressed sibling; a malformed q-value (such
 * as `q=2` or `q=0.5000`) refuses its coding, like `q=0`.
 * Skips HEAD, 204 and 304, small bodies, responses that already have a
 * `Content-Encoding` or `Cache-Control: no-transform`, and content that is
 * compressed already (images but SVG, audio, video, archives, WOFF fonts,
 * `application/octet-stream`) or a byte range. Adds `Vary: Accept-Encoding`,
 * sets `Content-Length` and weakens a strong `ETag`. Static files are
 * compressed as they stream (no `Content-Length` then), unless a
 * precompressed `.br`/`.gz` sibling is served, which costs no CPU.
 *
 * @example
 * ```ts
 * import { App, compress } from "@ferry/ferry";
 * const app = new App().use(compress({ threshold: 512 }));
 * app.get("/report", () => "a long report… ".repeat(100));
 * ```
 */
export function compress(options: CompressOptions = {}): NativeMiddleware {
  const encodings = list("compress() encodings", options.encodings ?? ["br", "gzip"]);
  const unknown = encodings.find((e) => e !== "br" && e !== "gzip");
  if (unknown !== undefined || encodings.length === 0) {
    throw new TypeError(`compress() encodings must be "br" and/or "gzip", got "${unknown ?? ""}"`);
  }
  return new NativeMiddleware("compress", {
    threshold: Math.floor(count("compress() threshold", options.threshold ?? 1024, 0)),
    encodings,
    gzipLevel: Math.round(count("compress() gzipLevel", options.gzipLevel ?? 6, 1, 9)),
    brotliQuality: Math.round(count("compress() brotliQuality", options.brotliQuality ?? 4, 1, 11)),
  });
}

/** Options of {@linkcode securityHeaders}; `false` leaves a header out. */
export interface SecurityHeadersOptions {
  /** `X-Content-Type-Options: nosniff`. @default {true} */
  contentTypeOptions?: boolean;
  /** `X-Frame-Options`. @default {"SAMEORIGIN"} */
  frameOptions?: "DENY" | "SAMEORIGIN" | false;
  /** `Referrer-Policy`. @default {"no-referrer"} */
  referrerPolicy?: string | false;
  /**
   * `Strict-Transport-Security`, e.g. `"max-age=31536000; includeSubDomains"`;
   * only meaningful behind HTTPS.
   * @default {false}
   */
  strictTransportSecurity?: string | false;
  /** `Content-Security-Policy`, e.g. `"default-src 'self'"`. @default {false} */
  contentSecurityPolicy?: string | false;
  /** `Cross-Origin-Opener-Policy`. @default {"same-origin"} */
  crossOriginOpenerPolicy?: string | false;
}

function optional(value: string | false | undefined, fallback: string | false): string | null {
  const chosen = value === undefined ? fallback : value;
  return chosen === false ? null : chosen;
}

/**
 * Hardening headers, added in Rust to every response that does not set
 * them itself.
 *
 * @example
 * ```ts
 * import { App, securityHeaders } from "@ferry/ferry";
 * new App().use(securityHeaders({ contentSecurityPolicy: "default-src 'self'" }));
 * ```
 */
export function securityHeaders(options: SecurityHeadersOptions = {}): NativeMiddleware {
  return new NativeMiddleware("securityHeaders", {
    contentTypeOptions: options.contentTypeOptions === false ? null : "nosniff",
    frameOptions: optional(options.frameOptions, "SAMEORIGIN"),
    referrerPolicy: optional(options.referrerPolicy, "no-referrer"),
    strictTransportSecurity: optional(options.strictTransportSecurity, false),
    contentSecurityPolicy: optional(options.contentSecurityPolicy, false),
    crossOriginOpenerPolicy: optional(options.crossOriginOpenerPolicy, "same-origin"),
  });
}

/** Options of {@linkcode requestId}. */
export interface RequestIdOptions {
  /** The header carrying the id, on the request and the response. @default {"x-request-id"} */
  header?: string;
  /**
   * Keep an incoming id (1–128 characters of letters, digits and
   * `-_.:+/=@`); otherwise every request gets a fresh one.
   * @default {true}
   */
  trustIncoming?: boolean;
}

/**
 * Gives every request an id in Rust: a valid incoming one is kept, else a
 * fresh 128-bit id (32 hex digits, unique per server, not secret) is set on
 * the request, where handlers read it with `c.req.header("x-request-id")`,
 * and echoed on the response.
 *
 * @example
 * ```ts
 * import { App, requestId } from "@ferry/ferry";
 * const app = new App().use(requestId());
 * app.get("/", (c) => `your id is ${c.req.header("x-request-id")}`);
 * ```
 */
export function requestId(options: RequestIdOptions = {}): NativeMiddleware {
  return new NativeMiddleware("requestId", {
    header: (options.header ?? "x-request-id").toLowerCase(),
    trustIncoming: options.trustIncoming ?? true,
  });
}

/** Options of {@linkcode rateLimit}. */
export interface RateLimitOptions {
  /** Requests a client may send in a burst (the bucket size). @default {100} */
  capacity?: number;
  /** Requests per second a client earns back. @default {10} */
  refillPerSecond?: number;
  /**
   * Clients tracked at once (about 100 bytes each). When the table is full,
   * a client whose bucket has refilled completely is forgotten to make
   * room; a client still refilling never is, since forgetting it would hand
   * it a full bucket. If every tracked client is still refilling, a new
   * client gets 429 until the soonest bucket is full again, so size this
   * above the number of clients you expect to be limited at once.
   * @default {10000}
   */
  maxClients?: number;
  /**
   * Leading bits of an IPv6 address that name one client: every address in
   * one /64 shares a bucket by default, since a host usually owns a whole
   * /64 and can rotate through it at will. Use 56 or 48 when your clients'
   * providers hand out larger blocks. IPv4 addresses (also IPv4-mapped IPv6
   * ones) are keyed whole.
   * @default {64}
   */
  ipv6Prefix?: number;
}

/**
 * A token bucket per client IP address (IPv6 by /64, see `ipv6Prefix`), in
 * Rust: a client over its budget gets a 429 problem+json with
 * `Retry-After` before routing, at no crossing. Rotating through fresh
 * addresses does not reset a limited client (see `maxClients`). Behind a
 * proxy every client shares the proxy's address.
 *
 * @example
 * ```ts
 * import { App, rateLimit } from "@ferry/ferry";
 * new App().use(rateLimit({ capacity: 20, refillPerSecond: 5 }));
 * ```
 */
export function rateLimit(options: RateLimitOptions = {}): NativeMiddleware {
  return new NativeMiddleware("rateLimit", {
    capacity: count("rateLimit() capacity", options.capacity ?? 100, 1),
    refillPerSecond: count("rateLimit() refillPerSecond", options.refillPerSecond ?? 10, 1e-6),
    maxClients: Math.floor(count("rateLimit() maxClients", options.maxClients ?? 10_000, 1)),
    ipv6Prefix: Math.floor(count("rateLimit() ipv6Prefix", options.ipv6Prefix ?? 64, 1, 128)),
  });
}

/** Options of {@linkcode globalHeaders}. */
export interface GlobalHeadersOptions {
  /** Headers added to every response that lacks them. @default {{}} */
  response?: Record<string, string>;
  /** Headers added to every request that lacks them, before routing. @default {{}} */
  request?: Record<string, string>;
  /**
   * Path prefixes whose responses get no global headers; a prefix matches
   * whole segments (`/health` covers `/health/db`, not `/healthz`).
   * @default {[]}
   */
  exclude?: string[];
}

function pairs(name: string, headers: Record<string, string>): [string, string][] {
  return Object.entries(headers).map(([key, value]) => {
    if (typeof value !== "string") throw new TypeError(`${name} header "${key}" must be a string`);
    return [key.toLowerCase(), value];
  });
}

/**
 * Fixed headers added in Rust: to requests before routing (handlers see
 * them) and to responses, except under excluded path prefixes. A value the
 * client or the handler already set wins.
 *
 * @example
 * ```ts
 * import { App, globalHeaders } from "@ferry/ferry";
 * new App().use(globalHeaders({
 *   response: { "server": "ferry" },
 *   request: { "x-tenant": "default" },
 *   exclude: ["/health"],
 * }));
 * ```
 */
export function globalHeaders(options: GlobalHeadersOptions = {}): NativeMiddleware {
  const exclude = list("globalHeaders() exclude", options.exclude ?? []);
  const bad = exclude.find((prefix) => !prefix.startsWith("/"));
  if (bad !== undefined) {
    throw new TypeError(`globalHeaders() exclude prefix "${bad}" must start with "/"`);
  }
  return new NativeMiddleware("globalHeaders", {
    response: pairs("globalHeaders() response", options.response ?? {}),
    request: pairs("globalHeaders() request", options.request ?? {}),
    exclude,
  });
}

/**
 * A deadline for handlers: when TypeScript has not answered a request
 * within `ms` milliseconds, Rust answers 504 itself.
 *
 * @example
 * ```ts
 * import { App, timeout } from "@ferry/ferry";
 * new App().use(timeout(5_000));
 * ```
 */
export function timeout(ms: number): NativeMiddleware {
  return new NativeMiddleware("timeout", { ms: Math.ceil(count("timeout() ms", ms, 1)) });
}

/** Options of {@linkcode logger}. */
export interface LoggerOptions {
  /** `"text"` (`time METHOD path status bytes duration id=…`) or `"json"` (one object per line). @default {"text"} */
  format?: "text" | "json";
  /** Where lines go. @default {"stderr"} */
  stream?: "stderr" | "stdout";
}

/**
 * An access log written by Rust: one line per request, whoever answered it
 * (handlers, const routes, static files, 404s, preflights, 429s), with the
 * method, path, status, body bytes (`-` when streamed with no known
 * length), the time until the response head was ready, and the request id
 * when `requestId()` is on. Lines are buffered and written at most 200 ms
 * later (and at shutdown): no crossing and no write per request. Requests
 * refused before middleware runs (431, 414) are not logged. It applies to
 * the network only: `app.fetch` writes no lines.
 *
 * @example
 * ```ts
 * import { App, logger, requestId } from "@ferry/ferry";
 * new App().use(requestId()).use(logger({ format: "json" }));
 * ```
 */
export function logger(options: LoggerOptions = {}): NativeMiddleware {
  const format = options.format ?? "text";
  const stream = options.stream ?? "stderr";
  if (format !== "text" && format !== "json") {
    throw new TypeError(`logger() format must be "text" or "json", got "${format}"`);
  }
  if (stream !== "stderr" && stream !== "stdout") {
    throw new TypeError(`logger() stream must be "stderr" or "stdout", got "${stream}"`);
  }
  return new NativeMiddleware("logger", { format, stream });
}
