// Response-header injection (issue #11, item 4): no way a handler has of
// setting a header may add a header line, over the network or through
// app.fetch, and the two answer the same. Raw sockets, because fetch would
// parse a forged line into an ordinary header and hide it.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App, HttpError, Reply } from "../mod.ts";
import { serve } from "./_helpers.ts";

/** Inputs a hostile client could get into a header, each on its own route. */
const routes: [string, (app: App, path: string) => void][] = [
  [
    "content type with U+010A",
    (app, path) =>
      app.get(
        path,
        (c) => c.body(new Uint8Array([120]), 200, "text/plain\u010aset-cookie: evil=1"),
      ),
  ],
  [
    "content type with CR LF",
    (app, path) => app.get(path, () => new Reply("x", 200, "a\r\nlocation: //evil")),
  ],
  [
    "c.text then a forged content type",
    (app, path) => app.get(path, (c) => c.text("x").set("content-type", "a\u010dlocation: //evil")),
  ],
  [
    "c.header value above U+00FF",
    (app, path) =>
      app.get(path, (c) => c.header("x-name", "\u0100\u010aset-cookie: evil=1") && "x"),
  ],
  [
    "c.header name above U+00FF",
    (app, path) => app.get(path, (c) => c.header("x-\u0100", "1") && "x"),
  ],
  [
    "redirect with CR LF",
    (app, path) => app.get(path, (c) => c.redirect("/next\r\nset-cookie: evil=1")),
  ],
  [
    "redirect with U+010D U+010A",
    (app, path) => app.get(path, (c) => c.redirect("/next\u010d\u010aset-cookie: evil=1")),
  ],
  ["after-middleware Reply.set", (app, path) =>
    app.get(path, () => "x", {
      after: [(_c, res) => void res.set("x-after", "1\nset-cookie: evil=1")],
    })],
  ["HttpError header", (app, path) =>
    app.get(path, () => {
      throw new HttpError(401, "no", { headers: { "www-authenticate": "x\nset-cookie: evil=1" } });
    })],
  [
    "forged content type, then after-middleware uses res.headers",
    (app, path) =>
      app.get(path, (c) => c.body("x", 200, "text/plain\u010aset-cookie: evil=1"), {
        after: [(_c, res) => void res.headers.set("x-after", "1")],
      }),
  ],
  ["res.headers in use, then Reply.set", (app, path) =>
    app.get(path, () => "x", {
      after: [
        (_c, res) => {
          res.headers.get("x"); // switches the reply to Web Headers
          res.set("x-after", "\u010aset-cookie: evil=1");
        },
      ],
    })],
  ["header then throw", (app, path) =>
    app.get(path, (c) => {
      c.header("x-then", "\u010aset-cookie: evil=1");
      throw new Error("hidden");
    })],
];

/** A response head as the bytes arrived: status and header lines. */
interface Head {
  status: number;
  lines: string[];
  body: string;
}

/**
 * GET `path` over a raw socket: the head as Latin-1 (one character per
 * byte, as on the wire, so nothing is hidden by decoding), the body as UTF-8.
 */
async function exchange(port: number, path: string): Promise<Head> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`),
  );
  const bytes = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  const raw = Array.from(bytes, (b) => String.fromCharCode(b)).join("");
  const end = raw.indexOf("\r\n\r\n");
  assert(end > 0, `no complete head: ${JSON.stringify(raw)}`);
  const [statusLine, ...lines] = raw.slice(0, end).split("\r\n");
  const body = new TextDecoder().decode(bytes.subarray(end + 4));
  return { status: Number(statusLine.split(" ")[1]), lines, body };
}

/** The headers the two paths should agree on (Rust adds date, content-length). */
function comparable(entries: Iterable<[string, string]>): [string, string][] {
  return [...entries]
    .map(([n, v]): [string, string] => [n.toLowerCase(), v])
    .filter(([n]) => n !== "date" && n !== "content-length" && n !== "connection")
    .sort();
}

async function quietly<T>(fn: () => Promise<T>): Promise<[T, string[]]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    return [await fn(), lines];
  } finally {
    console.error = original;
  }
}

/** Refused headers that were replaced before sending: nothing to refuse. */
const replaced: [string, (app: App, path: string) => void][] = [
  [
    "c.header replaced",
    (app, path) => app.get(path, (c) => c.header("x-a", "\u010a").header("x-a", "1") && "x"),
  ],
  [
    "Reply.set replaced after res.headers",
    (app, path) =>
      app.get(path, (c) => c.body("x", 200, "a\nb"), {
        after: [(_c, res) => {
          res.headers.get("x");
          res.set("content-type", "text/x");
        }],
      }),
  ],
  [
    "Web Response",
    (app, path) =>
      app.get(
        path,
        () => new Response("x", { headers: { "x-web": "caf\u00e9", "content-type": "a/b" } }),
      ),
  ],
];

function injectionApp(): App {
  const app = new App();
  routes.forEach(([, add], i) => add(app, `/r${i}`));
  replaced.forEach(([, add], i) => add(app, `/ok${i}`));
  app.get("/fine", (c) => c.header("x-latin1", "caf\u00e9").text("fine"));
  return app;
}

/** The raw answer to GET `path` and app.fetch's, checked to be the same. */
async function both(app: App, port: number, path: string, what: string): Promise<Head> {
  const head = await exchange(port, path);
  const res = await app.fetch(new Request(`http://x${path}`));
  const body = await res.text();
  assertEquals(res.status, head.status, `${what}: app.fetch status`);
  assertEquals(body, head.body, `${what}: app.fetch body`);
  assertEquals(
    comparable(res.headers),
    comparable(head.lines.map((l) => {
      const colon = l.indexOf(":");
      return [l.slice(0, colon), l.slice(colon + 1).trim()];
    })),
    `${what}: app.fetch headers`,
  );
  return head;
}

Deno.test("no handler input adds a header line on the wire, and app.fetch gives the same answer", async () => {
  const app = injectionApp();
  await using t = serve(app);
  const port = t.server.addr.port;
  const [, logs] = await quietly(async () => {
    for (let i = 0; i < routes.length; i++) {
      const what = routes[i][0];
      const head = await both(app, port, `/r${i}`, what);
      // Nothing forged: no extra line, no bare CR or LF, no truncated byte.
      for (const line of head.lines) {
        assert(!/^(set-cookie|location):/i.test(line), `${what}: forged ${line}`);
        assert(!/[\r\n]/.test(line), `${what}: bare CR/LF in ${JSON.stringify(line)}`);
      }
      assert(!/evil/.test(head.lines.join("\n")), `${what}: ${head.lines}`);
      // A refused header makes the answer a 500 problem+json naming it.
      assertEquals(head.status, 500, `${what}: ${head.lines}`);
      assert(head.lines.includes("content-type: application/problem+json"), what);
      const problem = JSON.parse(head.body);
      assertEquals(problem.status, 500, what);
      assert(/response header "[^"]+" was refused/.test(problem.detail), `${what}: ${head.body}`);
    }
    for (let i = 0; i < replaced.length; i++) {
      const head = await both(app, port, `/ok${i}`, replaced[i][0]);
      assertEquals(head.status, 200, `${replaced[i][0]}: ${head.lines}`);
    }
  });
  assert(logs.some((l) => l.includes("was refused")), logs.join("\n"));
});

Deno.test("a Latin-1 header value still goes out as one byte per character", async () => {
  await using t = serve(injectionApp());
  const head = await exchange(t.server.addr.port, "/fine");
  assertEquals(head.status, 200);
  assert(head.lines.includes("x-latin1: caf\u00e9"), JSON.stringify(head.lines));
});
