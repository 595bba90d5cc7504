/**
 * Load-benchmark peer: plain `Deno.serve`, the rival every ratio is relative
 * to. Answers the scenarios of `bench/load/scenarios.ts` with byte-identical
 * bodies and content types. Env: `PORT` (default 8000), `STATIC_DIR`.
 *
 * @module
 */

import { problem, User } from "./_zod_user.ts";

const TEXT = { "content-type": "text/plain; charset=utf-8" };
const JSON_TYPE = { "content-type": "application/json" };
const STATIC_DIR = Deno.env.get("STATIC_DIR") ?? ".";
const SAFE_NAME = /^[\w.-]+$/;

type Ctx = { n: number };
const count = (ctx: Ctx): void => {
  ctx.n++;
};
// deno-lint-ignore require-await
const countAsync = async (ctx: Ctx): Promise<void> => {
  ctx.n++;
};
const syncChain: ((ctx: Ctx) => void)[] = Array(16).fill(count);
const asyncChain: ((ctx: Ctx) => Promise<void>)[] = Array(16).fill(countAsync);

function middlewareDone(ctx: Ctx): Response {
  return new Response('{"ok":true}', {
    headers: { ...JSON_TYPE, "x-mw": String(ctx.n) },
  });
}

function notFound(): Response {
  return new Response("Not Found", { status: 404, headers: TEXT });
}

/** Splits a request URL into path and query without `new URL()` (as Hono does). */
function splitUrl(url: string): [path: string, query: string] {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const q = url.indexOf("?", start);
  return q === -1 ? [url.slice(start), ""] : [url.slice(start, q), url.slice(q + 1)];
}

async function handler(req: Request): Promise<Response> {
  const [path, query] = splitUrl(req.url);
  if (req.method === "GET") {
    if (path === "/") return new Response("Hello, World!", { headers: TEXT });
    if (path === "/const") {
      return new Response('{"status":"ok"}', { headers: JSON_TYPE });
    }
    if (path === "/mw") {
      const ctx = { n: 0 };
      for (const mw of syncChain) mw(ctx);
      return middlewareDone(ctx);
    }
    if (path === "/mw-async") {
      const ctx = { n: 0 };
      for (const mw of asyncChain) await mw(ctx);
      return middlewareDone(ctx);
    }
    if (path.startsWith("/api/v1/user/")) {
      // `mounted`: the prefix checks a router and two scoped middleware make.
      const id = path.slice(13);
      if (id === "" || id.includes("/")) return notFound();
      const body = JSON.stringify({
        id,
        name: new URLSearchParams(query).get("name") ?? "",
        token: req.headers.get("x-token") ?? "",
      });
      return new Response(body, { headers: { ...JSON_TYPE, "x-custom": "1", "x-scope": "2" } });
    }
    if (path.startsWith("/user/")) {
      const id = path.slice(6);
      if (id === "" || id.includes("/")) return notFound();
      const body = JSON.stringify({
        id,
        name: new URLSearchParams(query).get("name") ?? "",
        token: req.headers.get("x-token") ?? "",
      });
      return new Response(body, { headers: { ...JSON_TYPE, "x-custom": "1" } });
    }
    if (path.startsWith("/static/")) {
      const name = path.slice(8);
      if (!SAFE_NAME.test(name) || name.includes("..")) return notFound();
      try {
        const bytes = await Deno.readFile(`${STATIC_DIR}/${name}`);
        return new Response(bytes, {
          headers: { "content-type": "application/octet-stream" },
        });
      } catch {
        return notFound();
      }
    }
  } else if (req.method === "POST" && path === "/users") {
    // Validation by hand: parse, safeParse with zod, answer 422 or 200.
    let input: unknown;
    try {
      input = await req.json();
    } catch {
      return new Response("Bad Request", { status: 400, headers: TEXT });
    }
    const parsed = User.safeParse(input);
    if (!parsed.success) return problem(parsed.error.issues);
    return new Response(JSON.stringify({ ok: true, name: parsed.data.name }), {
      headers: JSON_TYPE,
    });
  } else if (req.method === "POST" && path === "/json") {
    try {
      return new Response(JSON.stringify(await req.json()), {
        headers: JSON_TYPE,
      });
    } catch {
      return new Response("Bad Request", { status: 400, headers: TEXT });
    }
  }
  return notFound();
}

Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 8000),
  hostname: "0.0.0.0",
  onListen() {},
}, handler);
