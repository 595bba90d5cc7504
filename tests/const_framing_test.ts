// Const routes frame their answers like dynamic ones: a handler's
// content-length, transfer-encoding, connection and other hop-by-hop headers
// are dropped (one rule in ffi/src/response.rs), so a wrong value cannot
// desync a keep-alive connection.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App, type Context, globalHeaders, type Server } from "../mod.ts";
import { serve } from "./_helpers.ts";

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * Reads one HTTP/1.1 response framed by its content-length from `conn`,
 * keeping what follows in `rest` for the next call. Bounded: gives up after
 * 200 reads.
 */
async function readAnswer(conn: Deno.Conn, rest: { bytes: Uint8Array }): Promise<RawAnswer> {
  const buf = new Uint8Array(65536);
  const latin1 = new TextDecoder("latin1");
  const append = (a: Uint8Array, b: Uint8Array) => {
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  for (let i = 0; i < 200; i++) {
    const text = latin1.decode(rest.bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const lines = text.slice(0, end).split("\r\n");
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]);
      assert(match, `not a status line: ${JSON.stringify(lines[0])}`);
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      const length = Number(headers.get("content-length") ?? "0");
      if (rest.bytes.length >= end + 4 + length) {
        const body = new TextDecoder().decode(rest.bytes.slice(end + 4, end + 4 + length));
        rest.bytes = rest.bytes.slice(end + 4 + length);
        return { status: Number(match[1]), headers, body };
      }
    }
    const n = await conn.read(buf);
    if (n === null) break;
    rest.bytes = append(rest.bytes, buf.slice(0, n));
  }
  throw new Error(`no whole answer; got ${JSON.stringify(latin1.decode(rest.bytes))}`);
}

/** Two requests on one keep-alive connection, each answer read before the next is sent. */
async function twice(port: number, path: string): Promise<RawAnswer[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  // A stuck read must fail the test, not hang it.
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    const rest = { bytes: new Uint8Array() };
    const answers: RawAnswer[] = [];
    for (let i = 0; i < 2; i++) {
      await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`));
      answers.push(await readAnswer(conn, rest));
    }
    assertEquals(rest.bytes.length, 0, "bytes past the second answer");
    return answers;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** Each route sets one header a handler may not set, on a "héllo" (6 bytes) answer. */
const LIES: [path: string, name: string, value: string, isConst: boolean][] = [
  ["/short", "content-length", "5", true],
  ["/long", "content-length", "60", true],
  ["/chunked", "transfer-encoding", "chunked", true],
  ["/close", "connection", "close", true],
  ["/upgrade", "upgrade", "websocket", true],
  ["/dynamic-short", "content-length", "5", false],
];

for (const [path, name, value, isConst] of LIES) {
  Deno.test(`a ${isConst ? "const" : "dynamic"} route setting ${name}: ${value} keeps keep-alive answers whole`, async () => {
    const app = new App().get(path, (c: Context) => {
      c.header(name, value);
      return "héllo";
    }, { const: isConst });
    await using t = serve(app);
    const answers = await twice(t.server.addr.port, path);
    for (const a of answers) {
      assertEquals([a.status, a.body], [200, "héllo"]);
      assertEquals(a.headers.get("content-length"), "6");
      assert(!a.headers.has("transfer-encoding"), "transfer-encoding sent");
      assert(!a.headers.has("upgrade"), "upgrade sent");
      assert(a.headers.get("connection") !== "close", "connection: close sent");
    }
  });
}

Deno.test("globalHeaders() refuses framing and hop-by-hop headers at listen()", async () => {
  for (const side of ["response", "request"] as const) {
    const app = new App()
      .use(globalHeaders({ [side]: { "content-length": "5" } }))
      .get("/", () => "héllo");
    let server: Server | undefined;
    try {
      server = app.listen({ hostname: "127.0.0.1", port: 0 });
    } catch (e) {
      assert(String(e).includes("content-length"), String(e));
    } finally {
      await server?.shutdown();
    }
    assertEquals(server, undefined, `${side} content-length was accepted`);
  }
});
