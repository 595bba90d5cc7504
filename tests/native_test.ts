import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import {
  App,
  compress,
  cors,
  globalHeaders,
  HttpError,
  NativeMiddleware,
  rateLimit,
  requestId,
  securityHeaders,
  timeout,
} from "../mod.ts";
import { serve } from "./_helpers.ts";

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

/** One request through node:http, which (unlike fetch) never decodes bodies. */
function raw(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on("end", () => {
        const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const chunk of chunks) body.set(chunk, (at += chunk.length) - chunk.length);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const LONG = "Ferry carries many passengers per crossing. ".repeat(100);

function corsApp(): App {
  const app = new App().use(cors({
    origin: ["https://a.test", "https://b.test"],
    allowHeaders: ["content-type", "x-token"],
    exposeHeaders: ["x-total"],
    maxAge: 600,
  }));
  app.get("/ok", () => "ok");
  app.post("/ok", () => "posted");
  app.get("/early", () => "handler", { before: [(c) => c.text("stopped", 401)] });
  app.get("/boom", () => {
    throw new HttpError(409, "taken");
  });
  app.get("/crash", () => {
    throw new Error("bug");
  });
  app.get("/own", (c) => c.header("access-control-allow-origin", "https://own.test").text("own"));
  return app;
}

Deno.test("cors() answers preflights in Rust with zero crossings", async () => {
  await using t = serve(corsApp());
  const preflight = (origin: string) =>
    fetch(`${t.base}/ok`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-token",
      },
    });
  const allowed = await preflight("https://b.test");
  await allowed.body?.cancel();
  assertEquals(allowed.status, 204);
  assertEquals(allowed.headers.get("access-control-allow-origin"), "https://b.test");
  assertEquals(
    allowed.headers.get("access-control-allow-methods"),
    "GET, HEAD, PUT, POST, DELETE, PATCH",
  );
  assertEquals(allowed.headers.get("access-control-allow-headers"), "content-type, x-token");
  assertEquals(allowed.headers.get("access-control-max-age"), "600");
  assertEquals(allowed.headers.get("vary"), "Origin");
  const denied = await preflight("https://evil.test");
  await denied.body?.cancel();
  assertEquals(denied.status, 204);
  assertEquals(denied.headers.get("access-control-allow-origin"), null);
  const stats = t.server.stats();
  assertEquals(stats.toJs, 0);
  assertEquals(stats.native, 2);
});

Deno.test("cors() sets one Access-Control-Allow-Origin on every kind of response", async () => {
  await using t = serve(corsApp());
  const origin = "https://a.test";
  const cases: [string, number, string | null][] = [
    ["/ok", 200, origin],
    ["/early", 401, origin],
    ["/boom", 409, origin],
    ["/crash", 500, origin],
    ["/missing", 404, origin],
    ["/own", 200, "https://own.test"],
  ];
  for (const [path, status, allow] of cases) {
    const res = await fetch(`${t.base}${path}`, { headers: { origin } });
    await res.body?.cancel();
    assertEquals(res.status, status, path);
    assertEquals(res.headers.get("access-control-allow-origin"), allow, path);
    if (path !== "/own") {
      assertEquals(res.headers.get("access-control-expose-headers"), "x-total", path);
      assertEquals(res.headers.get("vary"), "Origin", path);
    }
  }
  const other = await fetch(`${t.base}/ok`, { headers: { origin: "https://evil.test" } });
  assertEquals(await other.text(), "ok");
  assertEquals(other.headers.get("access-control-allow-origin"), null);
  assertEquals(other.headers.get("vary"), "Origin");
});

Deno.test("cors() with the default origin sends * and no Vary", async () => {
  const app = new App().use(cors());
  app.get("/", () => "hi");
  await using t = serve(app);
  const res = await fetch(`${t.base}/`, { headers: { origin: "https://any.test" } });
  assertEquals(await res.text(), "hi");
  assertEquals(res.headers.get("access-control-allow-origin"), "*");
  assertEquals(res.headers.get("vary"), null);
});

function compressApp(options = {}): App {
  const app = new App().use(compress(options));
  app.get("/long", () => LONG);
  app.get("/short", () => "short");
  app.get("/png", (c) => c.body(new Uint8Array(4096).fill(7), 200, "image/png"));
  app.get("/json", () => ({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: "item" })) }));
  app.get("/no-transform", (c) => c.header("cache-control", "no-transform").text(LONG));
  return app;
}

Deno.test("compress() negotiates br and gzip and the bodies round-trip", async () => {
  await using t = serve(compressApp());
  const br = await raw(`${t.base}/long`, { "accept-encoding": "gzip, deflate, br" });
  assertEquals(br.headers["content-encoding"], "br");
  assertEquals(br.headers["vary"], "Accept-Encoding");
  assertEquals(Number(br.headers["content-length"]), br.body.length);
  assert(br.body.length < LONG.length / 4, `br body ${br.body.length} bytes`);
  assertEquals(decode(brotliDecompressSync(br.body)), LONG);
  const gz = await raw(`${t.base}/long`, { "accept-encoding": "br;q=0.5, gzip" });
  assertEquals(gz.headers["content-encoding"], "gzip");
  assertEquals(decode(gunzipSync(gz.body)), LONG);
  const json = await raw(`${t.base}/json`, { "accept-encoding": "gzip" });
  assertEquals(json.headers["content-encoding"], "gzip");
  assertEquals(JSON.parse(decode(gunzipSync(json.body))).items.length, 200);
  // fetch decodes on its own.
  const fetched = await fetch(`${t.base}/long`);
  assertEquals(await fetched.text(), LONG);
});

Deno.test("compress() skips small bodies, images, HEAD, no-transform and plain clients", async () => {
  await using t = serve(compressApp());
  const both = { "accept-encoding": "br, gzip" };
  const small = await raw(`${t.base}/short`, both);
  assertEquals(small.headers["content-encoding"], undefined);
  assertEquals(decode(small.body), "short");
  const png = await raw(`${t.base}/png`, both);
  assertEquals(png.headers["content-encoding"], undefined);
  assertEquals(png.body.length, 4096);
  const head = await raw(`${t.base}/long`, both, "HEAD");
  assertEquals(head.headers["content-encoding"], undefined);
  const kept = await raw(`${t.base}/no-transform`, both);
  assertEquals(kept.headers["content-encoding"], undefined);
  const plain = await raw(`${t.base}/long`, {});
  assertEquals(plain.headers["content-encoding"], undefined);
  assertEquals(plain.headers["vary"], "Accept-Encoding");
  assertEquals(decode(plain.body), LONG);
  const refused = await raw(`${t.base}/long`, { "accept-encoding": "br;q=0, gzip;q=0" });
  assertEquals(refused.headers["content-encoding"], undefined);
});

Deno.test("compress() honours threshold and encodings options", async () => {
  await using t = serve(compressApp({ threshold: 4, encodings: ["gzip"] }));
  const small = await raw(`${t.base}/short`, { "accept-encoding": "br, gzip" });
  assertEquals(small.headers["content-encoding"], undefined, "not worth it: gzip is larger");
  const long = await raw(`${t.base}/long`, { "accept-encoding": "br, gzip" });
  assertEquals(long.headers["content-encoding"], "gzip");
  assertEquals(decode(gunzipSync(long.body)), LONG);
});

Deno.test("compress() compresses streamed static files chunk by chunk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const big = "static ".repeat(40_000); // several 64 KiB chunks
    await Deno.writeTextFile(`${dir}/big.txt`, big);
    await Deno.writeTextFile(`${dir}/small.txt`, "tiny");
    const app = new App().use(compress()).static("/s", dir, { precompressed: false });
    await using t = serve(app);
    const br = await raw(`${t.base}/s/big.txt`, { "accept-encoding": "br" });
    assertEquals(br.status, 200);
    assertEquals(br.headers["content-encoding"], "br");
    assertEquals(br.headers["content-length"], undefined);
    assertEquals(br.headers["vary"], "Accept-Encoding");
    assertEquals(decode(brotliDecompressSync(br.body)), big);
    const gz = await raw(`${t.base}/s/big.txt`, { "accept-encoding": "gzip" });
    assertEquals(decode(gunzipSync(gz.body)), big);
    const small = await raw(`${t.base}/s/small.txt`, { "accept-encoding": "br" });
    assertEquals(small.headers["content-encoding"], undefined);
    assertEquals(decode(small.body), "tiny");
    const plain = await raw(`${t.base}/s/big.txt`);
    assertEquals(plain.body.length, big.length);
    assertEquals(t.server.stats().toJs, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("securityHeaders() adds headers the response lacks", async () => {
  const app = new App().use(securityHeaders({ contentSecurityPolicy: "default-src 'self'" }));
  app.get("/", () => "hi");
  app.get("/framed", (c) => c.header("x-frame-options", "DENY").text("framed"));
  await using t = serve(app);
  const res = await fetch(`${t.base}/`);
  assertEquals(await res.text(), "hi");
  assertEquals(res.headers.get("x-content-type-options"), "nosniff");
  assertEquals(res.headers.get("x-frame-options"), "SAMEORIGIN");
  assertEquals(res.headers.get("referrer-policy"), "no-referrer");
  assertEquals(res.headers.get("content-security-policy"), "default-src 'self'");
  assertEquals(res.headers.get("cross-origin-opener-policy"), "same-origin");
  assertEquals(res.headers.get("strict-transport-security"), null);
  const framed = await fetch(`${t.base}/framed`);
  await framed.body?.cancel();
  assertEquals(framed.headers.get("x-frame-options"), "DENY");
  const missing = await fetch(`${t.base}/missing`);
  await missing.body?.cancel();
  assertEquals(missing.headers.get("x-content-type-options"), "nosniff");
});

Deno.test("requestId() generates, propagates and shows the id to handlers", async () => {
  const app = new App().use(requestId());
  app.get("/", (c) => c.req.header("x-request-id") ?? "none");
  await using t = serve(app);
  const fresh = await fetch(`${t.base}/`);
  const seen = await fresh.text();
  assert(/^[0-9a-f]{32}$/.test(seen), seen);
  assertEquals(fresh.headers.get("x-request-id"), seen);
  const second = await fetch(`${t.base}/`);
  assert((await second.text()) !== seen, "ids differ");
  const kept = await fetch(`${t.base}/`, { headers: { "x-request-id": "edge-42" } });
  assertEquals(await kept.text(), "edge-42");
  assertEquals(kept.headers.get("x-request-id"), "edge-42");
  const forged = await fetch(`${t.base}/`, { headers: { "x-request-id": "a b" } });
  const replaced = await forged.text();
  assert(/^[0-9a-f]{32}$/.test(replaced), replaced);
  const missing = await fetch(`${t.base}/missing`);
  await missing.body?.cancel();
  assert(/^[0-9a-f]{32}$/.test(missing.headers.get("x-request-id") ?? ""));
});

Deno.test("rateLimit() answers 429 with Retry-After in Rust with zero crossings", async () => {
  const app = new App().use(rateLimit({ capacity: 2, refillPerSecond: 0.01 })).use(requestId());
  app.get("/", () => "ok");
  await using t = serve(app);
  for (let i = 0; i < 2; i++) assertEquals(await (await fetch(`${t.base}/`)).text(), "ok");
  const before = t.server.stats().toJs;
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${t.base}/`);
    assertEquals(res.status, 429);
    assertEquals(res.headers.get("content-type"), "application/problem+json");
    assertEquals(res.headers.get("retry-after"), "100");
    assert(res.headers.get("x-request-id"), "other native middleware still apply");
    assertEquals((await res.json()).status, 429);
  }
  assertEquals(before, 2);
  assertEquals(t.server.stats().toJs, 2);
});

Deno.test("globalHeaders() adds request and response headers outside excluded paths", async () => {
  const app = new App().use(globalHeaders({
    response: { "X-Served-By": "ferry", "cache-control": "no-store" },
    request: { "x-tenant": "default" },
    exclude: ["/health"],
  }));
  app.get("/", (c) => c.req.header("x-tenant") ?? "none");
  app.get("/cached", (c) => c.header("cache-control", "max-age=60").text("cached"));
  app.get("/health", () => "up");
  app.get("/healthz", () => "up");
  await using t = serve(app);
  const res = await fetch(`${t.base}/`);
  assertEquals(await res.text(), "default");
  assertEquals(res.headers.get("x-served-by"), "ferry");
  const own = await fetch(`${t.base}/`, { headers: { "x-tenant": "acme" } });
  assertEquals(await own.text(), "acme");
  const cached = await fetch(`${t.base}/cached`);
  await cached.body?.cancel();
  assertEquals(cached.headers.get("cache-control"), "max-age=60");
  const health = await fetch(`${t.base}/health`);
  assertEquals(await health.text(), "up");
  assertEquals(health.headers.get("x-served-by"), null);
  const healthz = await fetch(`${t.base}/healthz`);
  await healthz.body?.cancel();
  assertEquals(healthz.headers.get("x-served-by"), "ferry");
});

Deno.test("native factories check their options", () => {
  throws(() => timeout(0), RangeError);
  throws(() => rateLimit({ capacity: 0 }), RangeError);
  throws(() => compress({ gzipLevel: 12 }), RangeError);
  throws(() => compress({ encodings: ["zstd" as "br"] }), TypeError);
  throws(() => globalHeaders({ exclude: ["health"] }), TypeError);
  throws(() => new App().use(cors()).use(cors()), TypeError);
  assertEquals(timeout(1500).settings, { ms: 1500 });
});

Deno.test("listen() refuses native settings Rust does not understand", async () => {
  throws(() => new App().use(new NativeMiddleware("corz", {})).listen({ port: 0 }), /corz/);
  throws(
    () => new App().use(globalHeaders({ response: { "bad name": "x" } })).listen({ port: 0 }),
    /bad header name/,
  );
  const app = new App().use(timeout(50));
  app.get("/", () => "hi");
  await using t = serve(app);
  assertEquals(await (await fetch(`${t.base}/`)).text(), "hi");
});
