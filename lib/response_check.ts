// The opt-in response check (`validateResponses`): a route's JSON answers
// are checked against its `schema.response` before they are sent, by the
// same Rust validator the requests go through (one FFI call per checked
// response, so it is meant for development and tests). A mismatch is a
// bug in the server, not the client: it is logged, naming the route and
// the failing fields, and the client gets a 500.

import type { After } from "./middleware.ts";
import type { Native } from "./_symbols.ts";
import { lastError } from "./_native.ts";
import { problem } from "./reply.ts";
import { type RouteSchema, toJsonSchema } from "./schema.ts";

const encoder = new TextEncoder();

/** Compiled checkers by status key (`"200"`, `"4XX"`, `"default"`). */
type Checkers = Map<string, number>;

function compile(lib: Native, schemas: NonNullable<RouteSchema["response"]>, route: string) {
  const checkers: Checkers = new Map();
  for (const [status, schema] of Object.entries(schemas)) {
    const json = encoder.encode(JSON.stringify(toJsonSchema(schema)));
    const id = lib.ferry_schema_compile(json, json.length);
    if (id < 0) {
      throw new TypeError(
        `The ${status} response schema of ${route} is invalid: ${lastError(lib)}`,
      );
    }
    checkers.set(status.toUpperCase(), id);
  }
  return checkers;
}

function checkerFor(checkers: Checkers, status: number): number | undefined {
  return checkers.get(String(status)) ?? checkers.get(`${String(status)[0]}XX`) ??
    checkers.get("DEFAULT");
}

function isJson(type: string | undefined): boolean {
  if (type === undefined) return false;
  const essence = type.split(";")[0].trim().toLowerCase();
  return essence === "application/json" || essence.endsWith("+json");
}

/**
 * The after-middleware that checks a route's responses, or `undefined`
 * when the route has no response schemas. Schemas compile here (once).
 */
export function responseCheck(
  lib: Native,
  method: string,
  path: string,
  schema: RouteSchema | undefined,
): After | undefined {
  if (!schema?.response) return undefined;
  const route = `${method} ${path}`;
  const checkers = compile(lib, schema.response, route);
  return (_c, reply) => {
    const id = checkerFor(checkers, reply.status);
    if (id === undefined || reply.problem || reply.body === null) return;
    let type: string | undefined;
    reply.forEachHeader((name, value) => {
      if (name === "content-type") type = value;
    });
    if (!isJson(type)) return;
    const body = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
    const result = lib.ferry_schema_check(id, body, body.length);
    if (result === 0) return;
    console.error(
      `ferry: the ${reply.status} response of ${route} does not match its schema: ${
        lastError(lib)
      }`,
    );
    return problem(500, "The server's response did not match its schema.");
  };
}
