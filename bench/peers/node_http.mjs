/**
 * Load-benchmark peer: Node's `http` module, no framework. Answers the
 * scenarios of `bench/load/scenarios.ts` with byte-identical bodies and
 * content types. Env: `PORT` (default 8000), `STATIC_DIR`.
 *
 * @module
 */
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";
const STATIC_DIR = process.env.STATIC_DIR ?? ".";
const SAFE_NAME = /^[\w.-]+$/;

const count = (ctx) => {
  ctx.n++;
};
// deno-lint-ignore require-await
const countAsync = async (ctx) => {
  ctx.n++;
};
const syncChain = Array(16).fill(count);
const asyncChain = Array(16).fill(countAsync);

function send(res, status, type, body, extra) {
  res.statusCode = status;
  res.setHeader("content-type", type);
  if (extra) {
    for (const [k, v] of Object.entries(extra)) {
      res.setHeader(k, v);
    }
  }
  res.end(body);
}

const notFound = (res) => send(res, 404, TEXT, "Not Found");

async function handle(req, res) {
  // req.url is the request target ("/path?query"): split it without new URL().
  const q = req.url.indexOf("?");
  const path = q === -1 ? req.url : req.url.slice(0, q);
  const query = q === -1 ? "" : req.url.slice(q + 1);
  if (req.method === "GET") {
    if (path === "/") return send(res, 200, TEXT, "Hello, World!");
    if (path === "/const") return send(res, 200, JSON_TYPE, '{"status":"ok"}');
    if (path === "/mw" || path === "/mw-async") {
      const ctx = { n: 0 };
      if (path === "/mw") { for (const mw of syncChain) mw(ctx); }
      else for (const mw of asyncChain) await mw(ctx);
      return send(res, 200, JSON_TYPE, '{"ok":true}', {
        "x-mw": String(ctx.n),
      });
    }
    if (path.startsWith("/user/")) {
      const id = path.slice(6);
      if (id === "" || id.includes("/")) return notFound(res);
      const body = JSON.stringify({
        id,
        name: new URLSearchParams(query).get("name") ?? "",
        token: req.headers["x-token"] ?? "",
      });
      return send(res, 200, JSON_TYPE, body, { "x-custom": "1" });
    }
    if (path.startsWith("/static/")) {
      const name = path.slice(8);
      if (!SAFE_NAME.test(name) || name.includes("..")) return notFound(res);
      try {
        const bytes = await readFile(`${STATIC_DIR}/${name}`);
        return send(res, 200, "application/octet-stream", bytes);
      } catch {
        return notFound(res);
      }
    }
  } else if (req.method === "POST" && path === "/json") {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    try {
      const value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      return send(res, 200, JSON_TYPE, JSON.stringify(value));
    } catch {
      return send(res, 400, TEXT, "Bad Request");
    }
  }
  return notFound(res);
}

createServer((req, res) => {
  handle(req, res).catch(() => send(res, 500, TEXT, "Internal Server Error"));
}).listen(Number(process.env.PORT ?? 8000), "0.0.0.0");
