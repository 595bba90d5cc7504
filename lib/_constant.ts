// Const routes (`{ const: true }`): the answer is computed once, at
// listen(), and served by Rust with no crossing.

import { Context } from "./context.ts";
import type { CompiledRoute } from "./_compile.ts";
import { runPlan } from "./_plan.ts";
import { Reply } from "./reply.ts";
import { WebSource } from "./_source.ts";

/** What Rust serves for a const route (see `ConstAnswer` in ffi/src/config.rs). */
export interface ConstAnswer {
  status: number;
  headers: [string, string][];
  body: number[];
}

/**
 * The answer of a `{ const: true }` route; `undefined` when the route is
 * not const or TypeScript middleware applies to it (then it runs in
 * TypeScript as usual, so middleware is never bypassed).
 */
export function constAnswer(route: CompiledRoute): ConstAnswer | undefined {
  if (!route.constant) return undefined;
  const plan = route.plan;
  if (plan.inbound.length > 0 || plan.after.length > 0) return undefined;
  if (route.path.includes(":") || route.path.includes("*")) {
    throw new TypeError(`Const route "${route.path}" cannot have parameters`);
  }
  const request = new Request(`http://localhost${route.path}`);
  const c = new Context(new WebSource(request, new URL(request.url), new Uint8Array(), []), []);
  const answer = runPlan(plan, c, { hops: 0 });
  if (!(answer instanceof Reply)) {
    throw new TypeError(`The handler of const route "${route.path}" must be synchronous`);
  }
  // Checked as on every other way out, so app.fetch answers the same.
  const reply = answer.sealed();
  const headers: [string, string][] = [];
  reply.forEachHeader((name, value) => headers.push([name, value]));
  const body = typeof reply.body === "string"
    ? new TextEncoder().encode(reply.body)
    : reply.body ?? new Uint8Array();
  return { status: reply.status, headers, body: Array.from(body) };
}
