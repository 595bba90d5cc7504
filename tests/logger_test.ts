// Issue #15 part 8: logger() writes one access-log line per request from
// Rust. The server runs in a child process so its stdout can be read.

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  throws as assertThrows,
} from "node:assert/strict";
import { logger } from "../mod.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;

/** Runs an app with `setup` in a child, sends `paths`, returns its stdout lines. */
async function logOf(setup: string, paths: [string, RequestInit?][]): Promise<string[]> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    `import * as f from "${MOD}";
const app = new f.App();
${setup}
app.get("/hello", () => "hello");
app.get("/const", () => "c", { const: true });
app.get("/quit", () => { setTimeout(() => server.shutdown(), 10); return "bye"; });
const server = app.listen({ hostname: "127.0.0.1", port: 0 });
console.error("PORT " + server.addr.port);
await server.finished;
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    stdout: "piped",
    stderr: "piped",
    env: { FERRY_LIB: Deno.env.get("FERRY_LIB") ?? "" },
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  while (!/PORT (\d+)/.test(err)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`child failed: ${err}`);
    err += value;
  }
  const port = err.match(/PORT (\d+)/)![1];
  for (const [path, init] of [...paths, ["/quit"] as [string]]) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
    await res.body?.cancel();
  }
  const [out] = await Promise.all([new Response(child.stdout).text(), reader.cancel()]);
  await child.status;
  await Deno.remove(script);
  return out.trim().split("\n").filter(Boolean);
}

Deno.test("logger() writes a text line per request, native answers included", async () => {
  const lines = await logOf(
    'app.use(f.requestId()).use(f.logger({ stream: "stdout" }));',
    [["/hello"], ["/const"], ["/nope"], ["/hello", { method: "HEAD" }], ["/hello", {
      headers: { "x-request-id": "trace-1" },
    }]],
  );
  assertEquals(lines.length, 6, lines.join("\n"));
  assertMatch(
    lines[0],
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z GET \/hello 200 5B \d+\.\d{3}ms id=[0-9a-f]{32}$/,
  );
  assertMatch(lines[1], / GET \/const 200 1B .*ms id=/);
  assertMatch(lines[2], / GET \/nope 404 \d+B /);
  assertMatch(lines[3], / HEAD \/hello 200 0B /);
  assertMatch(lines[4], / id=trace-1$/);
});

Deno.test("logger() writes JSON lines, and a path scope limits it", async () => {
  const lines = await logOf(
    'app.use("/hello", f.logger({ format: "json", stream: "stdout" }));',
    [["/hello?x=1"], ["/const"]],
  );
  assertEquals(lines.length, 1, lines.join("\n"));
  const line = JSON.parse(lines[0]);
  assertEquals(
    [line.method, line.path, line.status, line.bytes, line.id],
    ["GET", "/hello", 200, 5, null],
  );
  assertEquals(typeof line.ms, "number");
});

Deno.test("logger() checks its options", () => {
  const format = "xml" as "json";
  assertThrows(() => logger({ format }), /format must be "text" or "json"/);
  const stream = "file" as "stdout";
  assertThrows(() => logger({ stream }), /stream/);
});
