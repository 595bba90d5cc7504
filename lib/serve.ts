// serve(): the `Deno.serve` signature on Ferry's native core. Any fetch
// handler (Hono's `app.fetch`, a plain function) runs behind one catch-all
// route of an App, so every request is accepted, parsed and routed by Rust
// and reaches the handler as a Web `Request`.

import { App } from "./app.ts";
import type { ListenOptions } from "./listen_options.ts";
import type { Server } from "./server.ts";
import type { FerryRequest } from "./request.ts";

/** What a {@linkcode ServeHandler} learns about its request besides the request itself. */
export interface ServeHandlerInfo {
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
}

/**
 * A fetch handler, as for `Deno.serve`.
 *
 * @example
 * ```ts
 * import type { ServeHandler } from "@ferry/ferry";
 * const handler: ServeHandler = (req) => new Response(new URL(req.url).pathname);
 * ```
 */
export type ServeHandler = (
  request: Request,
  info: ServeHandlerInfo,
) => Response | Promise<Response>;

/**
 * Options of {@linkcode serve}: those of `app.listen()` (`port`,
 * `hostname`, `signal`, `onListen` and Ferry's limits), and optionally the
 * handler.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "@ferry/ferry";
 * const options: ServeOptions = { port: 0, hostname: "127.0.0.1", onListen() {} };
 * ```
 */
export interface ServeOptions extends ListenOptions {
  /** The fetch handler, when not given as the second argument. */
  handler?: ServeHandler;
}

/**
 * Serves a fetch handler on Ferry's native core, with the signature of
 * `Deno.serve`: `serve(handler)`, `serve(options, handler)` or
 * `serve({ ...options, handler })`. Returns the running {@linkcode Server}
 * (`addr`, `finished`, `shutdown()`, `stats()`).
 *
 * @example
 * ```ts
 * import { serve } from "@ferry/ferry";
 * const server = serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) =>
 *   new Response(`hello ${new URL(req.url).pathname}`));
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/there`);
 * console.assert(await res.text() === "hello /there");
 * await server.shutdown();
 * ```
 */
export function serve(handler: ServeHandler): Server;
/**
 * Serves `handler` with `options` (`port`, `hostname`, `signal`,
 * `onListen`, Ferry's limits).
 *
 * @example
 * ```ts
 * import { serve } from "@ferry/ferry";
 * const server = serve({ port: 0, onListen() {} }, () => new Response("hi"));
 * await server.shutdown();
 * ```
 */
export function serve(options: ServeOptions, handler: ServeHandler): Server;
/**
 * Serves `options.handler` with the other options.
 *
 * @example
 * ```ts
 * import { serve } from "@ferry/ferry";
 * const server = serve({ port: 0, onListen() {}, handler: () => new Response("hi") });
 * await server.shutdown();
 * ```
 */
export function serve(options: ServeOptions & { handler: ServeHandler }): Server;
export function serve(
  first: ServeHandler | ServeOptions,
  second?: ServeHandler,
): Server {
  const options: ServeOptions = typeof first === "function" ? {} : first;
  const handler = typeof first === "function" ? first : second ?? first.handler;
  if (typeof handler !== "function") {
    throw new TypeError("serve() needs a handler function");
  }
  const { handler: _, onListen, ...listen } = options;
  const app = new App();
  // Every method, every path (`/*rest` matches `/` too). The handler gets
  // the request as a Web Request.
  app.all("/*rest", (c) => {
    const req = c.req;
    return handler(req.raw, new HandlerInfo(req));
  });
  return app.listen({
    ...listen,
    // As Deno.serve: say where, unless the caller listens for it.
    onListen: onListen ??
      ((addr) => console.log(`Listening on http://${addr.hostname}:${addr.port}/`)),
  });
}

/** The handler's second argument; the address is parsed when first read. */
class HandlerInfo implements ServeHandlerInfo {
  #req: FerryRequest;
  #addr: Deno.NetAddr | undefined = undefined;

  constructor(req: FerryRequest) {
    this.#req = req;
  }

  get remoteAddr(): Deno.NetAddr {
    return this.#addr ??= netAddr(this.#req.remoteAddr);
  }
}

function netAddr(text: string): Deno.NetAddr {
  const colon = text.lastIndexOf(":");
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { transport: "tcp", hostname: host, port: Number(text.slice(colon + 1)) };
}
