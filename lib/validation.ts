// Route schemas on their way to Rust: each part converted to JSON Schema
// 2020-12 once, at listen(), with the route's parameter names (Rust gets
// parameter values in pattern order). Rust compiles and checks them
// (ffi/src/validation/); docs/validation.md has the design.

import { type RouteSchema, toJsonSchema } from "./schema.ts";
import { lastError, native } from "./_native.ts";
import type { Native } from "./_symbols.ts";
import { Reply } from "./reply.ts";
import { PROBLEM } from "./_media.ts";

/** The request parts Rust validates, in the order errors are listed. */
export const REQUEST_PARTS = ["params", "query", "headers", "cookies", "body"] as const;

/** A route's `schema` as the Rust configuration carries it. */
export interface SchemaConfig {
  names: string[];
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  cookies?: Record<string, unknown>;
  body?: Record<string, unknown>;
}

/**
 * The Rust configuration of a route's schema, or `undefined` when it
 * checks no request part (a response-only schema costs no request work).
 */
export function schemaConfig(
  schema: RouteSchema | undefined,
  names: string[],
): SchemaConfig | undefined {
  if (!schema) return undefined;
  const out: SchemaConfig = { names };
  let any = false;
  for (const part of REQUEST_PARTS) {
    const given = schema[part];
    if (given === undefined) continue;
    out[part] = toJsonSchema(given);
    any = true;
  }
  return any ? out : undefined;
}

/** A route as `app.fetch` validation needs it. */
export interface CheckedRoute {
  id: number;
  method: string;
  path: string;
  names: string[];
  options: { schema?: RouteSchema };
}

/** Whether a route's schema names any request part. */
export function checksRequests(schema: RouteSchema | undefined): boolean {
  return schema !== undefined && REQUEST_PARTS.some((part) => schema[part] !== undefined);
}

/** The whole message waiting in `ferry_last_error` (it may be long). */
function lastMessage(lib: Native): string {
  let buf = new Uint8Array(4096);
  let n = lib.ferry_last_error(buf, buf.length);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = lib.ferry_last_error(buf, buf.length);
  }
  return new TextDecoder().decode(buf.subarray(0, Math.max(0, n)));
}

const encoder = new TextEncoder();

/**
 * Validation for `app.fetch`: the same Rust checks as the network path,
 * through two FFI calls (`ferry_routes_compile` once per set of routes,
 * `ferry_request_check` per request of a route with schemas).
 */
export class FetchValidation {
  #set = -1;
  /** The route list `#set` was compiled from (a new one after changes). */
  #compiledFor?: readonly CheckedRoute[];

  /**
   * Checks one request: the coerced values (JSON text) for the handler,
   * or the refusal Rust answers with.
   */
  check(
    routes: readonly CheckedRoute[],
    route: CheckedRoute,
    request: Request,
    url: URL,
    params: string[],
    body: Uint8Array,
  ): string | Reply {
    const lib = native();
    if (this.#compiledFor !== routes) {
      const config = encoder.encode(JSON.stringify(routes.map((r) => ({
        method: r.method,
        path: r.path,
        id: r.id,
        schema: schemaConfig(r.options.schema, r.names),
      }))));
      const set = lib.ferry_routes_compile(config, config.length);
      if (set < 0) throw new TypeError(lastError(lib));
      this.#set = set;
      this.#compiledFor = routes;
    }
    const head = encoder.encode(JSON.stringify({
      method: request.method,
      target: url.pathname + url.search,
      headers: [...request.headers],
      params,
    }));
    const result = lib.ferry_request_check(
      this.#set,
      route.id,
      head,
      head.length,
      body,
      body.length,
    );
    if (result < 0) throw new Error(`Ferry could not validate the request: ${lastError(lib)}`);
    const text = lastMessage(lib);
    if (result === 0) return text;
    const reply = new Reply(text, result, PROBLEM);
    reply.problem = true;
    return reply;
  }
}
