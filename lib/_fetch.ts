// app.fetch: one Web Request answered in-process. Routing uses the merged
// table's RouteTree (the same rules as Rust's router, one shared test
// suite); native middleware and static mounts run through LocalNative,
// the same Rust code the network path runs.

import { Context } from "./context.ts";
import type { Compiled } from "./_compile.ts";
import type { LocalNative } from "./_local.ts";
import { problem } from "./_outcome.ts";
import { type HopCounter, runPlan } from "./_plan.ts";
import { Reply } from "./reply.ts";
import { WebSource } from "./_source.ts";

/** Answers `request` as the network would (see `App.fetch` for what differs). */
export async function fetchLocally(
  compiled: Compiled,
  local: LocalNative | undefined,
  request: Request,
  counter: HopCounter,
): Promise<Response> {
  const url = new URL(request.url);
  let ticket = -1;
  if (local !== undefined) {
    const step = await local.request(request, url);
    if (step.kind === "answer") return headless(request, step.response);
    ticket = step.ticket;
    // Native middleware may have added request headers (request id, global headers).
    request = new Request(request, { headers: step.headers });
  }
  let reply: Reply;
  try {
    reply = await answer(compiled, request, url, counter);
  } catch (error) {
    local?.forget(ticket);
    throw error;
  }
  const sent = reply.sealed();
  return headless(request, local ? local.response(ticket, sent) : sent.toResponse());
}

async function answer(
  compiled: Compiled,
  request: Request,
  url: URL,
  counter: HopCounter,
): Promise<Reply> {
  const found = compiled.tree.find(request.method, url.pathname);
  if (found.kind === "found") {
    const route = found.value;
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array();
    const source = new WebSource(request, url, body, found.params);
    const c = new Context(source, route.names);
    return await runPlan(route.plan, c, counter);
  }
  if (found.kind === "method") {
    const reply = request.method === "OPTIONS"
      ? new Reply(null, 204)
      : problem(405, "this path does not answer that method");
    return reply.set("allow", found.allow);
  }
  if (found.kind === "bad-param") {
    return problem(400, "the path is not valid percent-encoded UTF-8");
  }
  return problem(404, "no route matches this path");
}

/** A HEAD request's response carries no body. */
function headless(request: Request, response: Response): Response {
  return request.method === "HEAD" ? new Response(null, response) : response;
}
