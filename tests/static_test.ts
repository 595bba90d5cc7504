// app.static(): files served by Rust with no crossing to JavaScript.
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { App, type StaticOptions } from "../mod.ts";
import { rawExchange, serve, type TestServer } from "./_helpers.ts";

const HELLO = "hello world\n";
const SECRET = "top secret outside the root\n";
/** Past the 1 MiB cache limit, so this file is always streamed from disk. */
const PATTERN_SIZE = 1_100_000;
/** A modification time long past: Ferry only caches files left alone for a second. */
const PAST = new Date("2020-01-01T00:00:00Z");

/** Dates `path` `seconds` after PAST, so the cache keeps it (settled) with a distinct mtime. */
function settle(path: string, seconds = 0) {
  const when = new Date(PAST.getTime() + seconds * 1000);
  Deno.utimeSync(path, when, when);
}

/**
 * A temp tree: `public/` is mounted, `secret.txt` sits beside it. Every
 * file is dated in the past, so a second request for it is a cache hit and
 * the tests below check cached answers as well as fresh ones.
 */
function fixture(): { root: string; pub: string } & Disposable {
  const root = Deno.makeTempDirSync({ prefix: "ferry_static_" });
  const pub = `${root}/public`;
  const files: Record<string, string | Uint8Array> = {
    "secret.txt": SECRET,
    "secretdir/inner.txt": SECRET,
    "public/hello.txt": HELLO,
    "public/index.html": "<h1>root</h1>",
    "public/style.css": "body{}",
    "public/app.js": "console.log('identity')",
    "public/app.js.br": "BROTLI-BYTES",
    "public/app.js.gz": "GZIP-BYTES",
    "public/data.json": '{"a":1}',
    "public/logo.png": new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    "public/blob.unknownext": "?",
    "public/sub/index.html": "<h1>sub</h1>",
    "public/noindex/file.txt": "x",
    "public/.env": "SECRET=1",
    "public/.hidden/secret.txt": "hidden",
    "public/pattern.bin": Uint8Array.from({ length: PATTERN_SIZE }, (_, i) => (i * 7) & 0xff),
  };
  for (const [name, content] of Object.entries(files)) {
    const path = `${root}/${name}`;
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") Deno.writeTextFileSync(path, content);
    else Deno.writeFileSync(path, content);
    settle(path);
  }
  Deno.symlinkSync(`${root}/secret.txt`, `${pub}/escape.txt`);
  Deno.symlinkSync(`${root}/secretdir`, `${pub}/escapedir`);
  Deno.symlinkSync(`${pub}/hello.txt`, `${pub}/inner-link.txt`);
  return { root, pub, [Symbol.dispose]: () => Deno.removeSync(root, { recursive: true }) };
}

function start(dir: string, options: StaticOptions = {}): TestServer {
  const app = new App().static("/assets", dir, options);
  app.get("/api", () => "from js");
  return serve(app);
}

/** The status code of a raw HTTP/1.1 answer. */
const statusOf = (raw: string) => Number(raw.slice(9, 12));

async function get(t: TestServer, path: string, headers: HeadersInit = {}) {
  const res = await fetch(`${t.base}${path}`, { headers, redirect: "manual" });
  return { res, body: await res.text() };
}

Deno.test("static() serves files with their MIME types and never crosses to JS", async () => {
  using f = fixture();
  await using t = start(f.pub);
  const types: Record<string, string> = {
    "/assets/hello.txt": "text/plain; charset=utf-8",
    "/assets/index.html": "text/html; charset=utf-8",
    "/assets/style.css": "text/css; charset=utf-8",
    "/assets/data.json": "application/json",
    "/assets/logo.png": "image/png",
    "/assets/blob.unknownext": "application/octet-stream",
  };
  for (const [path, type] of Object.entries(types)) {
    const { res } = await get(t, path);
    assertEquals([res.status, res.headers.get("content-type")], [200, type], path);
    assertEquals(res.headers.get("accept-ranges"), "bytes");
  }
  const { res, body } = await get(t, "/assets/hello.txt");
  assertEquals([body, res.headers.get("content-length")], [HELLO, String(HELLO.length)]);
  const js = await get(t, "/assets/app.js", { "accept-encoding": "identity" });
  assert(js.res.headers.get("content-type")!.includes("javascript"));
  assertEquals(js.body, "console.log('identity')");
  const pattern = new Uint8Array(await (await fetch(`${t.base}/assets/pattern.bin`)).arrayBuffer());
  assertEquals(pattern.length, PATTERN_SIZE);
  assert(pattern.every((b, i) => b === ((i * 7) & 0xff)), "streamed bytes match the file");
  assertEquals(await (await fetch(`${t.base}/api`)).text(), "from js");
  const stats = t.server.stats();
  assertEquals([stats.requests, stats.toJs, stats.native], [10, 1, 9]); // only /api crossed
});

Deno.test("static() answers 304 for If-None-Match and If-Modified-Since", async () => {
  using f = fixture();
  await using t = start(f.pub, { cacheControl: "public, max-age=60" });
  const first = (await get(t, "/assets/hello.txt")).res;
  const etag = first.headers.get("etag")!;
  const lastModified = first.headers.get("last-modified")!;
  assert(/^"[0-9a-f.-]+"$/.test(etag), etag);
  assert(lastModified.endsWith(" GMT"), lastModified);
  const conditions: Record<string, string>[] = [
    { "if-none-match": etag },
    { "if-none-match": `"x", W/${etag}` },
    { "if-modified-since": lastModified },
    { "if-none-match": "*" },
  ];
  for (const headers of conditions) {
    const { res, body } = await get(t, "/assets/hello.txt", headers);
    assertEquals([res.status, body], [304, ""], JSON.stringify(headers));
    assertEquals(res.headers.get("etag"), etag);
    assertEquals(res.headers.get("cache-control"), "public, max-age=60");
  }
  // A stale tag wins over a current date (RFC 9110 §13.2.2).
  const stale = await get(t, "/assets/hello.txt", {
    "if-none-match": '"stale"',
    "if-modified-since": lastModified,
  });
  assertEquals([stale.res.status, stale.body], [200, HELLO]);
  const older = await get(t, "/assets/hello.txt", {
    "if-modified-since": "Thu, 01 Jan 1970 00:00:01 GMT",
  });
  assertEquals(older.res.status, 200);
  await using plain = start(f.pub, { etags: false });
  const untagged = await get(plain, "/assets/hello.txt", { "if-none-match": "*" });
  assertEquals([untagged.res.status, untagged.res.headers.get("etag")], [200, null]);
  assertEquals(t.server.stats().toJs + plain.server.stats().toJs, 0);
});

Deno.test("static() serves single byte ranges with 206 and refuses others with 416", async () => {
  using f = fixture();
  await using t = start(f.pub, { cacheControl: "no-cache" });
  const cases: [string, number, string, string | null][] = [
    ["bytes=0-4", 206, "hello", "bytes 0-4/12"],
    ["bytes=6-", 206, "world\n", "bytes 6-11/12"],
    ["bytes=-6", 206, "world\n", "bytes 6-11/12"],
    ["bytes=-100", 206, HELLO, "bytes 0-11/12"],
    ["bytes=0-4,6-7", 200, HELLO, null], // several ranges: the whole file
    ["lines=1-2", 200, HELLO, null],
  ];
  for (const [range, status, body, contentRange] of cases) {
    const got = await get(t, "/assets/hello.txt", { range });
    assertEquals([got.res.status, got.body, got.res.headers.get("content-range")], [
      status,
      body,
      contentRange,
    ], range);
  }
  for (const range of ["bytes=12-", "bytes=100-200", "bytes=-0"]) {
    const got = await get(t, "/assets/hello.txt", { range });
    assertEquals(got.res.status, 416, range);
    assertEquals(got.res.headers.get("content-range"), "bytes */12");
  }
  const partial = await get(t, "/assets/hello.txt", { range: "bytes=0-0" });
  assertEquals(partial.res.headers.get("cache-control"), "no-cache");
  const etag = partial.res.headers.get("etag")!;
  const current = await get(t, "/assets/hello.txt", { range: "bytes=0-4", "if-range": etag });
  assertEquals([current.res.status, current.body], [206, "hello"]);
  const changed = await get(t, "/assets/hello.txt", { range: "bytes=0-4", "if-range": '"old"' });
  assertEquals([changed.res.status, changed.body], [200, HELLO]);
  // A range across the 64 KiB chunk boundary of a streamed file.
  const across = await fetch(`${t.base}/assets/pattern.bin`, {
    headers: { range: "bytes=65530-131080" },
  });
  const bytes = new Uint8Array(await across.arrayBuffer());
  assertEquals([across.status, bytes.length], [206, 131080 - 65530 + 1]);
  assert(bytes.every((b, i) => b === (((i + 65530) * 7) & 0xff)));
  assertEquals(t.server.stats().toJs, 0);
});

Deno.test("static() answers HEAD with the GET headers and no body", async () => {
  using f = fixture();
  await using t = start(f.pub);
  const raw = await rawExchange(
    t.server.addr.port,
    "HEAD /assets/hello.txt HTTP/1.1\r\nhost: x\r\nrange: bytes=0-1\r\nconnection: close\r\n\r\n",
  );
  assertEquals(statusOf(raw), 200); // Range applies to GET only
  assert(/\r\ncontent-length: 12\r\n/i.test(raw), raw);
  assert(/\r\ncontent-type: text\/plain; charset=utf-8\r\n/i.test(raw), raw);
  assert(raw.endsWith("\r\n\r\n"), "no body after the headers");
  assertEquals(t.server.stats().toJs, 0);
});

Deno.test("static() serves index.html for directories and redirects the slashless form", async () => {
  using f = fixture();
  await using t = start(f.pub);
  assertEquals((await get(t, "/assets/sub/")).body, "<h1>sub</h1>");
  assertEquals((await get(t, "/assets/")).body, "<h1>root</h1>");
  for (const [path, location] of [["/assets/sub", "/assets/sub/"], ["/assets", "/assets/"]]) {
    const { res } = await get(t, path);
    assertEquals([res.status, res.headers.get("location")], [301, location], path);
  }
  // A slashless redirect is rebuilt from clean segments: never `//host`.
  const raw = await rawExchange(
    t.server.addr.port,
    "GET /assets//sub HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
  );
  assert(/\r\nlocation: \/assets\/sub\/\r\n/i.test(raw), raw);
  assertEquals((await get(t, "/assets/noindex/")).res.status, 404);
  assertEquals((await get(t, "/assets/noindex")).res.status, 404);
  assertEquals((await get(t, "/assets/hello.txt/")).res.status, 404);
  await using none = start(f.pub, { index: false });
  assertEquals((await get(none, "/assets/sub/")).res.status, 404);
  await using other = start(f.pub, { index: "file.txt" });
  assertEquals((await get(other, "/assets/noindex/")).body, "x");
  assertEquals(t.server.stats().toJs, 0);
});

Deno.test("static() picks precompressed siblings by Accept-Encoding", async () => {
  using f = fixture();
  await using t = start(f.pub);
  const ask = (encoding: string) =>
    rawExchange(
      t.server.addr.port,
      `GET /assets/app.js HTTP/1.1\r\nhost: x\r\naccept-encoding: ${encoding}\r\nconnection: close\r\n\r\n`,
    );
  const cases: [string, string, string | null][] = [
    ["gzip, deflate, br", "BROTLI-BYTES", "br"],
    ["gzip", "GZIP-BYTES", "gzip"],
    ["br;q=0.4, gzip;q=0.8", "GZIP-BYTES", "gzip"],
    ["identity", "console.log('identity')", null],
    ["br;q=0, gzip;q=0", "console.log('identity')", null],
  ];
  for (const [encoding, body, contentEncoding] of cases) {
    const raw = await ask(encoding);
    assert(raw.endsWith(`\r\n\r\n${body}`), `${encoding}: ${raw}`);
    assertEquals(raw.match(/\r\ncontent-encoding: (\w+)/i)?.[1] ?? null, contentEncoding);
    assert(/\r\nvary: accept-encoding\r\n/i.test(raw), raw);
    assert(/\r\ncontent-type: text\/javascript/i.test(raw), raw);
  }
  const tags = new Set<string>();
  for (const encoding of ["br", "gzip", "identity"]) {
    tags.add((await ask(encoding)).match(/\r\netag: (\S+)/i)![1]);
  }
  assertEquals(tags.size, 3); // one validator per representation
  await using off = start(f.pub, { precompressed: false });
  const plain = await rawExchange(
    off.server.addr.port,
    "GET /assets/app.js HTTP/1.1\r\nhost: x\r\naccept-encoding: br\r\nconnection: close\r\n\r\n",
  );
  assert(plain.endsWith("console.log('identity')") && !/content-encoding/i.test(plain), plain);
});

Deno.test("static() sends Cache-Control only when asked", async () => {
  using f = fixture();
  await using t = start(f.pub, { cacheControl: "public, max-age=31536000, immutable" });
  const { res } = await get(t, "/assets/hello.txt");
  assertEquals(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
  await using bare = start(f.pub);
  assertEquals((await get(bare, "/assets/hello.txt")).res.headers.get("cache-control"), null);
});

Deno.test("static() hides dotfiles unless allowed", async () => {
  using f = fixture();
  await using t = start(f.pub);
  for (const path of ["/assets/.env", "/assets/.hidden/secret.txt", "/assets/%2eenv"]) {
    const { res, body } = await get(t, path);
    assertEquals([res.status, res.headers.get("content-type")], [404, "application/problem+json"]);
    assertEquals(JSON.parse(body).status, 404);
  }
  await using open = start(f.pub, { dotfiles: "allow" });
  assertEquals((await get(open, "/assets/.env")).body, "SECRET=1");
  assertEquals((await get(open, "/assets/.hidden/secret.txt")).body, "hidden");
});

Deno.test("static() refuses every traversal attempt with 404", async () => {
  using f = fixture();
  await using t = start(f.pub, { dotfiles: "allow" });
  const attempts = [
    "/assets/../secret.txt",
    "/assets/sub/../../secret.txt",
    "/assets//../secret.txt",
    "/assets/%2e%2e/secret.txt",
    "/assets/%2E%2E/secret.txt",
    "/assets/.%2e/secret.txt",
    "/assets/%2e./secret.txt",
    "/assets/..%2fsecret.txt",
    "/assets/%2e%2e%2fsecret.txt",
    "/assets/sub%2f..%2f..%2fsecret.txt",
    "/assets/..%5csecret.txt",
    "/assets/%5c..%5csecret.txt",
    "/assets/hello.txt%00",
    "/assets/%00/../secret.txt",
    "/assets/%c0%ae%c0%ae/secret.txt",
    "/assets/%252e%252e/secret.txt",
    "/assets/escape.txt",
    "/assets/escapedir/inner.txt",
  ];
  for (const path of attempts) {
    const raw = await rawExchange(
      t.server.addr.port,
      `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    );
    assertEquals(statusOf(raw), 404, `${path}: ${raw}`);
    assert(!raw.includes("top secret"), path);
  }
  // A raw backslash is not even a valid request target: hyper refuses it.
  const backslash = await rawExchange(
    t.server.addr.port,
    "GET /assets/..\\secret.txt HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
  );
  assert(!backslash.includes("top secret"), backslash);
  assert([400, 404].includes(statusOf(backslash)), backslash);
  assertEquals(t.server.stats().toJs, 0);
});

Deno.test("static() follows symlinks that stay inside the root only", async () => {
  using f = fixture();
  await using t = start(f.pub);
  assertEquals((await get(t, "/assets/inner-link.txt")).body, HELLO);
  assertEquals((await get(t, "/assets/escape.txt")).res.status, 404);
  assertEquals((await get(t, "/assets/escapedir/inner.txt")).res.status, 404);
});

Deno.test("static() serves a file edited on disk fresh, never a stale cached copy", async () => {
  using f = fixture();
  await using t = start(f.pub);
  const path = `${f.pub}/hello.txt`;
  const hello = async () => {
    const { res, body } = await get(t, "/assets/hello.txt");
    return { status: res.status, body, etag: res.headers.get("etag") };
  };
  const first = await hello();
  const cached = await hello();
  assertEquals([first.body, cached], [HELLO, first]);

  // Another size.
  Deno.writeTextFileSync(path, "hello again, world\n");
  const grown = await hello();
  assertEquals(grown.body, "hello again, world\n");
  assert(grown.etag !== first.etag);

  // The same size with another modification time (cached first).
  settle(path, 60);
  await hello();
  const before = await hello();
  Deno.writeTextFileSync(path, "HELLO AGAIN, WORLD\n");
  settle(path, 120);
  const edited = await hello();
  assertEquals(edited.body, "HELLO AGAIN, WORLD\n");
  assert(edited.etag !== before.etag);

  // The same size and modification time, but another file renamed over it.
  await hello();
  Deno.writeTextFileSync(`${f.pub}/next.tmp`, "hello AGAIN, world\n");
  settle(`${f.pub}/next.tmp`, 120);
  Deno.renameSync(`${f.pub}/next.tmp`, path);
  assertEquals((await hello()).body, "hello AGAIN, world\n");

  Deno.removeSync(path);
  assertEquals((await hello()).status, 404);
  assertEquals(t.server.stats().toJs, 0);
});

Deno.test("static() answers 304, 206, 416 and HEAD from a cached file as from disk", async () => {
  using f = fixture();
  await using t = start(f.pub, { cacheControl: "no-cache" });
  const path = `${f.pub}/hello.txt`;
  const etag = (await get(t, "/assets/hello.txt")).res.headers.get("etag")!;
  const unchanged = await get(t, "/assets/hello.txt", { "if-none-match": etag });
  assertEquals([unchanged.res.status, unchanged.body], [304, ""]);
  assertEquals(unchanged.res.headers.get("cache-control"), "no-cache");
  const part = await get(t, "/assets/hello.txt", { range: "bytes=6-", "if-range": etag });
  assertEquals([part.res.status, part.body, part.res.headers.get("content-range")], [
    206,
    "world\n",
    "bytes 6-11/12",
  ]);
  const outside = await get(t, "/assets/hello.txt", { range: "bytes=12-" });
  assertEquals([outside.res.status, outside.res.headers.get("content-range")], [416, "bytes */12"]);
  const head = await rawExchange(
    t.server.addr.port,
    "HEAD /assets/hello.txt HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
  );
  assert(statusOf(head) === 200 && /\r\ncontent-length: 12\r\n/i.test(head), head);
  assert(head.endsWith("\r\n\r\n"), "no body after the headers");

  // Edited: the old validators no longer match.
  Deno.writeTextFileSync(path, "HELLO WORLD\n");
  settle(path, 60);
  const changed = await get(t, "/assets/hello.txt", { "if-none-match": etag });
  assertEquals([changed.res.status, changed.body], [200, "HELLO WORLD\n"]);
  assert(changed.res.headers.get("etag") !== etag);
  const stale = await get(t, "/assets/hello.txt", { range: "bytes=0-4", "if-range": etag });
  assertEquals([stale.res.status, stale.body], [200, "HELLO WORLD\n"]);
  const fresh = await get(t, "/assets/hello.txt", { range: "bytes=0-4" });
  assertEquals([fresh.res.status, fresh.body], [206, "HELLO"]);
  assertEquals(t.server.stats().toJs, 0);
});

Deno.test("static() follows edits to precompressed siblings and indexes", async () => {
  using f = fixture();
  await using t = start(f.pub);
  // Raw HTTP: fetch would try to decompress the fake compressed bodies.
  const app = async (encoding: string) => {
    const raw = await rawExchange(
      t.server.addr.port,
      `GET /assets/app.js HTTP/1.1\r\nhost: x\r\naccept-encoding: ${encoding}\r\nconnection: close\r\n\r\n`,
    );
    const contentEncoding = raw.match(/\r\ncontent-encoding: (\w+)/i)?.[1] ?? null;
    return [statusOf(raw), contentEncoding, raw.slice(raw.indexOf("\r\n\r\n") + 4)];
  };
  assertEquals(await app("br, gzip"), [200, "br", "BROTLI-BYTES"]);
  assertEquals(await app("br, gzip"), [200, "br", "BROTLI-BYTES"]);
  Deno.writeTextFileSync(`${f.pub}/app.js.br`, "NEW-BROTLI");
  assertEquals(await app("br, gzip"), [200, "br", "NEW-BROTLI"]);
  Deno.removeSync(`${f.pub}/app.js.br`);
  assertEquals(await app("br, gzip"), [200, "gzip", "GZIP-BYTES"]);
  Deno.removeSync(`${f.pub}/app.js`);
  assertEquals((await app("gzip"))[0], 404); // a sibling is not served without its file

  assertEquals((await get(t, "/assets/sub/")).body, "<h1>sub</h1>");
  Deno.writeTextFileSync(`${f.pub}/sub/index.html`, "<h1>new sub</h1>");
  assertEquals((await get(t, "/assets/sub/")).body, "<h1>new sub</h1>");
  Deno.removeSync(`${f.pub}/sub/index.html`);
  assertEquals((await get(t, "/assets/sub/")).res.status, 404);
});

Deno.test("static() never serves outside the root through a swapped symlink", async () => {
  using f = fixture();
  await using t = start(f.pub);
  assertEquals((await get(t, "/assets/inner-link.txt")).body, HELLO);
  assertEquals((await get(t, "/assets/inner-link.txt")).body, HELLO);
  Deno.removeSync(`${f.pub}/inner-link.txt`);
  Deno.symlinkSync(`${f.root}/secret.txt`, `${f.pub}/inner-link.txt`);
  const after = await get(t, "/assets/inner-link.txt");
  assertEquals(after.res.status, 404);
  assert(!after.body.includes("top secret"));
  // A symlink removed, or pointing at another file inside the root.
  Deno.removeSync(`${f.pub}/inner-link.txt`);
  assertEquals((await get(t, "/assets/inner-link.txt")).res.status, 404);
  Deno.symlinkSync(`${f.pub}/style.css`, `${f.pub}/inner-link.txt`);
  assertEquals((await get(t, "/assets/inner-link.txt")).body, "body{}");
});

Deno.test("static() answers other methods with 405 and Allow: GET, HEAD", async () => {
  using f = fixture();
  await using t = start(f.pub);
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const res = await fetch(`${t.base}/assets/hello.txt`, { method, body: "x" });
    await res.body?.cancel();
    assertEquals([res.status, res.headers.get("allow")], [405, "GET, HEAD"], method);
  }
  const options = await fetch(`${t.base}/assets/hello.txt`, { method: "OPTIONS" });
  assertEquals([options.status, options.headers.get("allow")], [204, "GET, HEAD"]);
  const missing = await get(t, "/assets/nope.txt");
  assertEquals([missing.res.status, JSON.parse(missing.body).title], [404, "Not Found"]);
  assertEquals(t.server.stats().toJs, 0);
});

Deno.test("static() with fallthrough hands misses to the routes", async () => {
  using f = fixture();
  const app = new App().static("/", f.pub, { fallthrough: true });
  app.get("/api", () => "from js");
  app.post("/hello.txt", () => "posted");
  await using t = serve(app);
  assertEquals((await get(t, "/hello.txt")).body, HELLO);
  assertEquals((await get(t, "/api")).body, "from js");
  const posted = await fetch(`${t.base}/hello.txt`, { method: "POST" });
  assertEquals(await posted.text(), "posted");
  assertEquals(t.server.stats().toJs, 2);
});

Deno.test("static() checks its options", () => {
  using f = fixture();
  const app = new App();
  throws(() => app.static("assets", f.pub), TypeError);
  throws(() => app.static("/a", `${f.root}/missing`), TypeError);
  throws(() => app.static("/a", `${f.pub}/hello.txt`), TypeError);
  throws(() => app.static("/a", f.pub, { index: "../x" }), TypeError);
  throws(() => app.static("/a", f.pub, { cacheControl: "a\r\nb" }), TypeError);
  // deno-lint-ignore no-explicit-any
  throws(() => app.static("/a", f.pub, { dotfiles: "deny" as any }), TypeError);
});

// Downloads over raw TCP into one reused buffer: fetch's per-chunk arrays
// would hide what Rust does. Returns the head, body bytes and peak RSS.
async function download(port: number, path: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`),
  );
  const buf = new Uint8Array(65536);
  let head = "";
  let body = 0;
  let peak = Deno.memoryUsage().rss;
  try {
    for (let i = 0; i < 1_000_000; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      if (i % 64 === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
      if (head.endsWith("\r\n\r\n")) {
        body += n;
        continue;
      }
      // Still in the head: latin1 keeps one char per byte.
      const text = head + new TextDecoder("latin1").decode(buf.subarray(0, n));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) head = text;
      else [head, body] = [text.slice(0, end + 4), body + text.length - end - 4];
    }
  } finally {
    conn.close();
  }
  return { head, body, peak: Math.max(peak, Deno.memoryUsage().rss) };
}

Deno.test("static() streams a 100 MB file with bounded memory", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ferry_big_" });
  try {
    const size = 100 * 1024 * 1024;
    using file = Deno.openSync(`${dir}/big.bin`, { create: true, write: true });
    file.truncateSync(size); // sparse: no disk, no page cache to fill
    await using t = serve(new App().static("/big", dir));
    const before = Deno.memoryUsage().rss;
    const got = await download(t.server.addr.port, "/big/big.bin");
    assert(got.head.startsWith("HTTP/1.1 200"), got.head);
    assert(got.head.toLowerCase().includes(`content-length: ${size}\r\n`), got.head);
    assertEquals(got.body, size);
    const grown = got.peak - before;
    assert(grown < 20 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
    const stats = t.server.stats();
    assertEquals([stats.toJs, stats.requests], [0, 1]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
