// The send timeout: a client that stops reading is dropped once its writes
// make no progress for `sendTimeoutMs`, freeing its connection and buffered
// body; a client that reads slowly but steadily keeps its connection.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { serve } from "./_helpers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls (bounded, ~10 s) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await sleep(25);
  assert(done(), `gave up waiting for ${what}`);
}

/** 32 MiB: more than the kernel buffers of both ends hold. */
const BIG = 32 * 1024 * 1024;

function bigApp(): App {
  const body = new Uint8Array(BIG).fill(0x61);
  return new App().get("/big", (c) => c.body(body));
}

async function requestBig(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("GET /big HTTP/1.1\r\nhost: x\r\n\r\n"));
  return conn;
}

Deno.test("listen({ sendTimeoutMs }) drops a connection whose client never reads", async () => {
  await using t = serve(bigApp(), { sendTimeoutMs: 300 });
  const conn = await requestBig(t.server.addr.port);
  try {
    await until(() => t.server.stats().connections === 1, "the connection to open");
    await until(() => t.server.stats().connections === 0, "the stuck connection to be dropped");
  } finally {
    conn.close();
  }
});

Deno.test("listen({ sendTimeoutMs }) keeps a client that reads slowly but steadily", async () => {
  await using t = serve(bigApp(), { sendTimeoutMs: 500 });
  const conn = await requestBig(t.server.addr.port);
  const buf = new Uint8Array(64 * 1024);
  let got = 0;
  try {
    await until(() => t.server.stats().connections === 1, "the connection to open");
    // ~2.5 s, five send timeouts, at ~5 MB/s: 256 KiB, then a 50 ms pause.
    for (let round = 0; round < 50; round++) {
      for (let quota = 256 * 1024; quota > 0;) {
        const n = await conn.read(buf);
        assert(n !== null, `closed after ${got} bytes`);
        got += n;
        quota -= n;
      }
      await sleep(50);
      assertEquals(t.server.stats().connections, 1, `dropped after ${got} bytes`);
    }
    // Then the rest, fast: the whole answer (body and a head of over 50
    // bytes) arrives.
    for (let i = 0; i < 100_000 && got < BIG + 50; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += n;
    }
    assert(got >= BIG + 50, `only ${got} bytes arrived`);
  } finally {
    conn.close();
  }
});

Deno.test("listen({ sendTimeoutMs }) drops an idle connection whose graceful close never finishes", async () => {
  await using t = serve(bigApp(), { keepAliveTimeoutMs: 200, sendTimeoutMs: 300 });
  // An HTTP/2 client that opens a connection and then never reads nor
  // answers: the idle close's GOAWAY and PING wait for it forever.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.server.addr.port });
  try {
    await conn.write(new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    await conn.write(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0])); // empty SETTINGS
    await until(() => t.server.stats().connections === 1, "the connection to open");
    await until(() => t.server.stats().connections === 0, "the unfinished close to be dropped");
  } finally {
    conn.close();
  }
});
