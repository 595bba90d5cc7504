// Broken handlers: throwing, hanging, returning nonsense, forging headers,
// answering huge bodies. Each leaves the server serving and no slot held.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { rawExchange, serve, type TestServer } from "./_helpers.ts";

const PROBLEM = "application/problem+json";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` with console.error captured; returns the lines logged. */
async function logged(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return lines;
}

/** Polls (bounded) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !done(); i++) await sleep(5);
  assert(done(), `gave up waiting for ${what}`);
}

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => open = resolve);
  return { promise, open };
}

async function stillServes(t: TestServer): Promise<void> {
  const res = await fetch(`${t.base}/ok`);
  assertEquals([res.status, await res.text()], [200, "ok"]);
  assertEquals(t.server.stats().slotsInUse, 0);
}

Deno.test("a handler that throws, sync or async, answers 500 problem+json and the next request works", async () => {
  const app = new App();
  app.get("/ok", () => "ok");
  app.get("/sync", () => {
    throw new Error("sync boom");
  });
  app.get("/async", async () => {
    await sleep(1);
    throw new Error("async boom");
  });
  app.get("/reject", () => Promise.reject(new Error("rejected")));
  app.get("/throw-null", () => {
    throw null;
  });
  await using t = serve(app);
  const lines = await logged(async () => {
    for (const path of ["/sync", "/async", "/reject", "/throw-null"]) {
      const res = await fetch(`${t.base}${path}`);
      assertEquals(res.status, 500, path);
      assertEquals(res.headers.get("content-type"), PROBLEM, path);
      const body = await res.json();
      assertEquals([body.status, body.title], [500, "Internal Server Error"]);
      assert(!JSON.stringify(body).includes("boom"), JSON.stringify(body));
      await stillServes(t);
    }
  });
  assert(lines.some((line) => line.includes("sync boom")), lines.join("\n"));
  assert(lines.some((line) => line.includes("async boom")), lines.join("\n"));
});

Deno.test("a handler that never answers gets 504 after handlerTimeoutMs and its late answer breaks nothing", async () => {
  const hung = gate();
  const second = gate();
  let lateFinished = false;
  const app = new App();
  app.get("/ok", () => "ok");
  app.get("/hang", async () => {
    await hung.promise;
    lateFinished = true;
    return "late answer from /hang";
  });
  app.get("/second", async () => {
    await second.promise;
    return "second's own answer";
  });
  app.get("/forever", () => new Promise<string>(() => {}));
  // One slot: the reclaimed slot is reused by the next request, so a late
  // commit into it would show up in that request's answer.
  await using t = serve(app, { handlerTimeoutMs: 200, slots: 1 });
  const res = await fetch(`${t.base}/hang`);
  assertEquals(res.status, 504);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  assertEquals((await res.json()).status, 504);
  await until(() => t.server.stats().slotsInUse === 0, "the slot to be reclaimed");
  // The next request takes the same slot and waits; the old handler now finishes.
  const pending = fetch(`${t.base}/second`);
  await until(() => t.server.stats().slotsInUse === 1, "the second request to take the slot");
  hung.open();
  await until(() => lateFinished, "the hung handler to finish");
  await sleep(20);
  second.open();
  const answer = await pending;
  assertEquals([answer.status, await answer.text()], [200, "second's own answer"]);
  // A handler whose promise never settles is cut off the same way.
  const forever = await fetch(`${t.base}/forever`);
  assertEquals(forever.status, 504);
  await forever.body?.cancel();
  // With one slot, the next request needs it back: JavaScript releases it
  // when it handles the cancel entry, which may come after the client has
  // read the 504 (a race the busy CI machine lost once).
  await until(() => t.server.stats().slotsInUse === 0, "the slot of /forever to be reclaimed");
  await stillServes(t);
});

Deno.test("a late answer racing the slot's next request in the same batch goes nowhere", async () => {
  const hung = gate();
  const next = gate();
  const app = new App();
  app.get("/ok", () => "ok");
  app.get("/hang", async () => {
    await hung.promise;
    return "late";
  });
  app.get("/next", async () => {
    await next.promise;
    return "next's own answer";
  });
  await using t = serve(app, { handlerTimeoutMs: 200, slots: 1 });
  const res = await fetch(`${t.base}/hang`);
  assertEquals(res.status, 504);
  await res.body?.cancel();
  const pending = fetch(`${t.base}/next`);
  await until(() => t.server.stats().slotsInUse === 1, "the next request to take the slot");
  // Same microtask turn: the new request answers first, then the stale one.
  next.open();
  hung.open();
  const answer = await pending;
  assertEquals([answer.status, await answer.text()], [200, "next's own answer"]);
  await stillServes(t);
});

Deno.test("a handler returning an unsupported type answers 500 naming it", async () => {
  const app = new App();
  app.get("/ok", () => "ok");
  app.get("/number", () => 7 as unknown as string);
  app.get("/map", () => new Map() as unknown as string);
  app.get("/symbol", () => Symbol("s") as unknown as string);
  app.get("/function", () => (() => 1) as unknown as string);
  app.get("/async-set", async () => {
    await sleep(1);
    return new Set([1]) as unknown as string;
  });
  await using t = serve(app);
  const lines = await logged(async () => {
    for (
      const [path, name] of [
        ["/number", "a number"],
        ["/map", "a Map"],
        ["/symbol", "a symbol"],
        ["/function", "a function"],
        ["/async-set", "a Set"],
      ]
    ) {
      const res = await fetch(`${t.base}${path}`);
      assertEquals(res.status, 500, path);
      assertEquals(res.headers.get("content-type"), PROBLEM, path);
      const detail = (await res.json()).detail as string;
      assert(detail.includes(`returned ${name}`), `${path}: ${detail}`);
    }
    await stillServes(t);
  });
  assert(lines.some((line) => line.includes("returned a symbol")), lines.join("\n"));
});

Deno.test("c.header() and res.headers refuse CR/LF with a 500, and nothing forged reaches the wire", async () => {
  const evil = [
    ["x-evil", "a\r\nset-cookie: pwned=1"],
    ["x-evil", "a\nset-cookie: pwned=1"],
    ["x-evil", "a\rb"],
    ["x-evil", "a\0b"],
    ["x-evil\r\nset-cookie", "pwned=1"],
    ["x evil", "1"],
    ["", "1"],
  ];
  const app = new App();
  app.get("/ok", () => "ok");
  app.get("/context", (c) => {
    for (const [name, value] of evil) c.header(name, value);
    c.header("x-fine", "1");
    return "context";
  });
  app.get("/reply", (c) => {
    const reply = c.text("reply");
    for (const [name, value] of evil) reply.set(name, value);
    return reply;
  });
  app.get("/after/:i", () => "after", {
    after: [(c, res) => {
      const [name, value] = evil[Number(c.params.i)];
      res.headers.set(name, value);
    }],
  });
  app.get("/after-set/:i", () => "after-set", {
    after: [(c, res) => {
      const [name, value] = evil[Number(c.params.i)];
      res.set(name, value);
    }],
  });
  await using t = serve(app);
  const port = t.server.addr.port;
  const get = (path: string) =>
    rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`, 1000);
  const forged = (raw: string) => /pwned|\r\nx-evil|\r\nset-cookie/i.test(raw);
  let raws: string[] = [];
  const lines = await logged(async () => {
    raws = [await get("/context"), await get("/reply")];
    for (let i = 0; i < evil.length; i++) raws.push(await get(`/after/${i}`));
    for (let i = 0; i < evil.length; i++) raws.push(await get(`/after-set/${i}`));
  });
  for (const raw of raws) {
    assert(!forged(raw), raw);
    // Whatever happened, the head is well formed: one status line, no bare CR or LF.
    const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
    assert(!/\r(?!\n)|(?<!\r)\n/.test(head), JSON.stringify(head));
  }
  // A header that may not be sent makes the answer a logged 500 (Web
  // Headers throws in after-middleware; Reply.set and c.header are refused
  // when the reply is sealed, naming the header), never a silent drop.
  for (const raw of raws) {
    assert(raw.startsWith("HTTP/1.1 500 "), raw);
    assert(raw.includes('"status":500'), raw);
  }
  assert(raws[0].includes('response header \\"x-evil\\" was refused'), raws[0]);
  assert(lines.some((line) => line.includes("was refused")), lines.join("\n"));
  await stillServes(t);
});

Deno.test("a handler answering a 50 MB string or byte body sends it intact", async () => {
  const size = 50 * 1024 * 1024;
  const text = "0123456789abcdef".repeat(size / 16);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) & 0xff;
  const app = new App();
  app.get("/ok", () => "ok");
  app.get("/text", () => text);
  app.get("/bytes", () => bytes);
  app.get("/async-text", async () => {
    await sleep(1);
    return text;
  });
  await using t = serve(app);
  for (const path of ["/text", "/async-text"]) {
    const res = await fetch(`${t.base}${path}`);
    assertEquals(res.headers.get("content-length"), String(size), path);
    const got = await res.text();
    assertEquals(got.length, size, path);
    assert(got === text, `${path} differs`);
  }
  const res = await fetch(`${t.base}/bytes`);
  assertEquals(res.headers.get("content-type"), "application/octet-stream");
  const got = new Uint8Array(await res.arrayBuffer());
  assertEquals(got.length, size);
  for (let i = 0; i < size; i += 4096) assertEquals(got[i], (i / 4096) & 0xff, String(i));
  await stillServes(t);
});
