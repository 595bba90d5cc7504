// maxHeaderBytes bounds HTTP/2 header blocks as it bounds HTTP/1 heads: the
// protocol layer refuses a block past it before it becomes a request, and a
// limit raised above hyper's 16 KiB default is honoured. Through node:http2
// with prior knowledge (h2c), as in tests/http2_test.ts.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { App } from "../mod.ts";
import { serve } from "./_helpers.ts";
import { h2 } from "./_h2_client.ts";

/** The status of a GET with one `x-big` header of `size` bytes; 0 if the stream failed. */
async function statusWithHeader(base: string, size: number, http2 = true): Promise<number> {
  const headers = { "x-big": "a".repeat(size) };
  try {
    if (!http2) {
      const res = await fetch(`${base}/`, { headers });
      await res.body?.cancel();
      return res.status;
    }
    return (await h2(base, { path: "/", headers })).status;
  } catch {
    // A reset stream or connection is a refusal too.
    return 0;
  }
}

const app = () => new App().get("/", () => "ok");

Deno.test("listen({ maxHeaderBytes }) above 16 KiB is honoured over HTTP/2 as over HTTP/1", async () => {
  await using t = serve(app(), { maxHeaderBytes: 64 * 1024 });
  assertEquals(await statusWithHeader(t.base, 32_000, false), 200);
  assertEquals(await statusWithHeader(t.base, 32_000), 200);
  // And still a limit: far past it is refused.
  assert([0, 431].includes(await statusWithHeader(t.base, 100_000)));
});

Deno.test("listen({ maxHeaderBytes }) refuses an HTTP/2 header block past it before it is a request", async () => {
  await using t = serve(app(), { maxHeaderBytes: 4096 });
  assertEquals(await statusWithHeader(t.base, 3000), 200);
  assertEquals(t.server.stats().requests, 1);
  // 14 KB: under hyper's 16 KiB default, over the limit. hyper's HTTP/2
  // layer must stop it; it must not be decoded whole into a request.
  const status = await statusWithHeader(t.base, 14_000);
  assert([0, 431].includes(status), `status ${status}`);
  assertEquals(t.server.stats().requests, 1);
});

Deno.test("the default maxHeaderBytes refuses a huge HTTP/2 header block", async () => {
  await using t = serve(app());
  const status = await statusWithHeader(t.base, 100_000);
  assert([0, 431].includes(status), `status ${status}`);
  assertEquals(t.server.stats().requests, 0);
});
