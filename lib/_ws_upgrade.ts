// The handler behind `app.ws()`: runs the route's `upgrade` and turns its
// value into the 101 answer Rust completes the handshake with, or passes a
// refusal through as an ordinary answer.

import { Reply } from "./reply.ts";
import type { Context } from "./context.ts";
import { UPGRADE, type UpgradeTicket } from "./_ws_hub.ts";
import type { ResolvedWebSocketOptions, WebSocketHandlers } from "./websocket.ts";
import type { RouteOptions } from "./middleware.ts";

/** A route's WebSocket options, if it is a WebSocket route (internal). */
export function websocketOf(options: RouteOptions): ResolvedWebSocketOptions | undefined {
  return (options as { websocket?: ResolvedWebSocketOptions }).websocket;
}

/** The upgrade ticket a 101 reply carries (internal). */
export function ticketOf(reply: Reply): UpgradeTicket | undefined {
  return (reply as unknown as { [UPGRADE]?: UpgradeTicket })[UPGRADE];
}

/** Runs `upgrade(c)`; accepts with a 101 reply or passes a refusal through. */
export function upgradeReply(
  c: Context,
  // deno-lint-ignore no-explicit-any
  handlers: WebSocketHandlers<any, any, any>,
  options: ResolvedWebSocketOptions,
): unknown {
  const accept = (data: unknown): unknown => {
    if (data instanceof Reply || data instanceof Response) return data;
    const reply = new Reply(null, 200);
    // 101 is set past the constructor's 200–599 check: only Rust's upgrade
    // path sends it (a 101 from any other route is answered 500 there).
    reply.status = 101;
    const ticket: UpgradeTicket = {
      handlers,
      data,
      params: { ...c.params },
      remoteAddress: c.req.remoteAddr,
      backpressureLimit: options.backpressureLimitBytes,
      dropOnBackpressure: options.dropOnBackpressure,
    };
    (reply as unknown as { [UPGRADE]: UpgradeTicket })[UPGRADE] = ticket;
    return reply;
  };
  if (handlers.upgrade === undefined) return accept(undefined);
  const out = handlers.upgrade(c);
  return out instanceof Promise ? out.then(accept) : accept(out);
}
