/**
 * Ferry: a Deno web framework with a native core. A Rust (hyper + tokio)
 * library accepts connections, parses HTTP and routes; requests that need
 * TypeScript reach it in batches through shared-memory slots, many per FFI
 * crossing.
 *
 * @example
 * ```ts
 * import { App, HttpError } from "@ferry/ferry";
 * const app = new App();
 * app.get("/", () => "Hello, World!");
 * app.get("/users/:id", (c) => ({ id: c.params.id, q: c.query.get("q") }));
 * app.post("/echo", async (c) => c.json(await c.req.json(), 201));
 * app.get("/teapot", () => { throw new HttpError(418 + 82, "no"); });
 * const res = await app.fetch(new Request("http://localhost/users/1"));
 * console.assert(res.status === 200);
 * ```
 *
 * @module
 */
export { App, type AppOptions, type Hook, type Method } from "./lib/app.ts";
export { Context } from "./lib/context.ts";
export { FerryRequest } from "./lib/request.ts";
export { Reply, type ReplyBody } from "./lib/reply.ts";
export { HttpError } from "./lib/http_error.ts";
export type { SSEMessage, SSEOptions, SSEWriter, StreamWriter } from "./lib/stream.ts";
export type {
  ServerWebSocket,
  WebSocketData,
  WebSocketHandlers,
  WebSocketMessage,
  WebSocketOptions,
} from "./lib/websocket.ts";
export { contextStorage, getContext } from "./lib/async_context.ts";
export { Server, type ServerAddr, type ServerStats } from "./lib/server.ts";
export type { ListenOptions } from "./lib/listen_options.ts";
export { serve, type ServeHandler, type ServeHandlerInfo, type ServeOptions } from "./lib/serve.ts";
export {
  compress,
  type CompressOptions,
  cors,
  type CorsOptions,
  globalHeaders,
  type GlobalHeadersOptions,
  logger,
  type LoggerOptions,
  NativeMiddleware,
  type NativeSettings,
  rateLimit,
  type RateLimitOptions,
  requestId,
  type RequestIdOptions,
  securityHeaders,
  type SecurityHeadersOptions,
  timeout,
} from "./lib/native.ts";
export type { StaticOptions } from "./lib/static.ts";
export {
  type Infer,
  type RouteContract,
  type RouteSchema,
  type SchemaLike,
  type StandardJsonSchema,
  toJsonSchema,
  type Valid,
  type ValidOf,
  withJsonSchema,
} from "./lib/schema.ts";
export {
  type ObjectOf,
  type OptionalSchema,
  type Schema,
  type SchemaOptions,
  t,
  type TypeBuilder,
} from "./lib/t.ts";
export type { OpenApiOptions } from "./lib/openapi.ts";
export type {
  After,
  Before,
  ErrorHook,
  Handler,
  HandlerResult,
  Onion,
  RouteOptions,
} from "./lib/middleware.ts";
export type { CookieOptions, CookieSecret } from "./lib/cookie.ts";
export type { Env, ParamNames, Params, Variables } from "./lib/types.ts";
