// The slot-ownership protocol (docs/crossing.md, "Who owns a slot"): a slot
// goes back to the free list only after JavaScript released it, so a late
// reader throws instead of reading another request's bytes; a closed
// server's arena is never read; a request's handler runs once.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { latch as gate, rawExchange, serve, until } from "./_helpers.ts";

const ENGINES = ["pump", "thread"] as const;

function assertStringIncludes(text: string, part: string): void {
  assert(
    text.includes(part),
    `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

/** Sends a request on a raw connection and closes it without reading. */
async function sendAndLeave(port: number, request: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  await new Promise((resolve) => setTimeout(resolve, 30));
  conn.close();
}

for (const engine of ENGINES) {
  Deno.test(`a handler reading after its client left never sees the next request's bytes (${engine})`, async () => {
    const app = new App();
    const late = gate();
    const seen: string[] = [];
    let entered = false;
    app.get("/slow", async (c) => {
      entered = true;
      await late.wait;
      try {
        seen.push(`query=${c.req.rawQuery} header=${c.req.header("x-secret")}`);
      } catch (error) {
        seen.push(`threw: ${(error as Error).message}`);
      }
      return "late";
    });
    app.get("/other", (c) => `other ${c.req.rawQuery.length}`);
    await using t = serve(app, { slots: 1, engine });
    const port = t.server.addr.port;
    await sendAndLeave(port, "GET /slow?q=mine HTTP/1.1\r\nhost: x\r\n\r\n");
    assert(await until(() => entered), "the slow handler never ran");
    // The client is gone; Rust tells JavaScript, which lets the slot go.
    assert(await until(() => t.server.stats().slotsInUse === 0), "the slot was never released");
    const res = await fetch(`${t.base}/other?q=SECRET-abcdef`, {
      headers: { "x-secret": "SECRET-header" },
    });
    assertEquals(res.status, 200);
    assertEquals(await res.text(), "other 15");
    late.open();
    assert(await until(() => seen.length === 1));
    assert(!seen[0].includes("SECRET"), `read another request's bytes: ${seen[0]}`);
    assertStringIncludes(seen[0], "threw: This request is over");
  });

  Deno.test(`a handler of a closed server cannot read the arena (${engine})`, async () => {
    const first = new App();
    const late = gate();
    const seen: string[] = [];
    let entered = false;
    first.get("/slow", async (c) => {
      entered = true;
      await late.wait;
      try {
        seen.push(`path=${c.req.path} header=${c.req.header("x-secret")}`);
      } catch (error) {
        seen.push(`threw: ${(error as Error).message}`);
      }
      return "late";
    });
    const one = serve(first, { slots: 4, engine });
    const pending = rawExchange(
      one.server.addr.port,
      "GET /slow HTTP/1.1\r\nhost: x\r\n\r\n",
      3000,
    );
    assert(await until(() => entered), "the slow handler never ran");
    await one.server.shutdown({ deadlineMs: 0 });
    assertStringIncludes(await pending, "503");

    // A second server of the same arena size, holding a secret in its slot.
    const second = new App();
    const hold = gate();
    second.get("/*rest", async () => {
      await hold.wait;
      return "ok";
    });
    await using two = serve(second, { slots: 4, engine });
    const answer = fetch(`${two.base}/SECRET-path`, { headers: { "x-secret": "SECRET-header" } });
    assert(await until(() => two.server.stats().slotsInUse === 1));
    late.open();
    assert(await until(() => seen.length === 1));
    hold.open();
    assertEquals(await (await answer).text(), "ok");
    assert(!seen[0].includes("SECRET"), `read another server's bytes: ${seen[0]}`);
    // Expired at the deadline ("over") or released at close ("shut down").
    assert(/^threw: This (request is over|server has shut down)/.test(seen[0]), seen[0]);
  });
}

Deno.test("a request whose client left while JavaScript was busy runs no handler, and the next runs once (thread)", async () => {
  const app = new App();
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  const charges: string[] = [];
  app.get("/block", () => {
    // Hold the JS thread (bounded) until the client script says it sent
    // both requests: meanwhile Rust queues them on its own threads.
    for (let i = 0; i < 5_000_000; i++) {
      try {
        Deno.statSync(marker);
        break;
      } catch { /* not yet */ }
    }
    return "unblocked";
  });
  app.post("/charge", async (c) => {
    charges.push(await c.req.text());
    return "charged";
  });
  // One slot for /block, one that A's dead request keeps until JavaScript
  // drains it, one for B.
  await using t = serve(app, { slots: 3, engine: "thread" });
  const port = t.server.addr.port;
  const client = `
    const port = ${port};
    const enc = new TextEncoder();
    const post = (token) => enc.encode("POST /charge HTTP/1.1\\r\\nhost: x\\r\\ncontent-length: " + token.length + "\\r\\n\\r\\n" + token);
    await new Promise((r) => setTimeout(r, 150));
    const a = await Deno.connect({ hostname: "127.0.0.1", port });
    await a.write(post("token-A"));
    await new Promise((r) => setTimeout(r, 100));
    a.close();
    await new Promise((r) => setTimeout(r, 100));
    const b = await Deno.connect({ hostname: "127.0.0.1", port });
    await b.write(post("token-B"));
    await new Promise((r) => setTimeout(r, 100));
    await Deno.writeTextFile(${JSON.stringify(marker)}, "go");
    const buf = new Uint8Array(4096);
    const n = await b.read(buf);
    console.log(new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\\r\\n")[0]);
    b.close();
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", client],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const blocked = await fetch(`${t.base}/block`);
  assertEquals(await blocked.text(), "unblocked");
  const out = await child.output();
  assertStringIncludes(new TextDecoder().decode(out.stdout), "200");
  await Deno.remove(marker).catch(() => {});
  assert(await until(() => charges.length >= 1));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals(charges, ["token-B"]);
});
