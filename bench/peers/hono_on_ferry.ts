/**
 * Load-benchmark peer: the same Hono app (`hono_app.ts`) on Ferry's native
 * core through `serve()`, the `Deno.serve` signature: Rust accepts, parses
 * and routes every request to one catch-all route that calls `app.fetch`.
 * Env: `PORT` (default 8000), `STATIC_DIR`.
 *
 * @module
 */
import { serve } from "../../mod.ts";
import { app } from "./hono_app.ts";

serve({
  port: Number(Deno.env.get("PORT") ?? 8000),
  hostname: "0.0.0.0",
  onListen() {},
}, app.fetch);
