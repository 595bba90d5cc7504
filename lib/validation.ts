// Route schemas on their way to Rust: each part converted to JSON Schema
// 2020-12 once, at listen(), with the route's parameter names (Rust gets
// parameter values in pattern order). Rust compiles and checks them
// (ffi/src/validation/); docs/validation.md has the design.

import { type RouteSchema, toJsonSchema } from "./schema.ts";

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
