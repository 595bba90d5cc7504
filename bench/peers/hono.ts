/**
 * Load-benchmark peer: the Hono app of `hono_app.ts` on `Deno.serve`.
 * Env: `PORT` (default 8000), `STATIC_DIR`.
 *
 * @module
 */
import { app } from "./hono_app.ts";

Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 8000),
  hostname: "0.0.0.0",
  onListen() {},
}, app.fetch);
