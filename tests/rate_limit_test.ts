// rateLimit() under address rotation (issue #11, item 8): a flood of new
// client addresses must not push a limited client out of the table and so
// hand it a full bucket again.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { App, rateLimit } from "../mod.ts";
import { serve, type TestServer } from "./_helpers.ts";

/**
 * GET `path` from the loopback address `from` (any 127.x.y.z works on
 * Linux); `Deno.connect` cannot choose its local address, node:http can.
 */
function getFrom(t: TestServer, from: string, path = "/"): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${t.base}${path}`,
      { localAddress: from, agent: false, headers: { connection: "close" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function limitedApp(options: Parameters<typeof rateLimit>[0]): App {
  const app = new App().use(rateLimit(options));
  app.get("/", () => "ok");
  return app;
}

Deno.test("rateLimit() keeps a limited client limited while other addresses flood the table", async () => {
  // Two requests per client, then one every 1000 s; room for four clients.
  await using t = serve(limitedApp({ capacity: 2, refillPerSecond: 0.001, maxClients: 4 }));
  const victim = "127.0.0.2";
  assertEquals([await getFrom(t, victim), await getFrom(t, victim)], [200, 200]);
  assertEquals(await getFrom(t, victim), 429);
  const rotated: number[] = [];
  for (let n = 3; n < 15; n++) rotated.push(await getFrom(t, `127.0.0.${n}`));
  assertEquals(await getFrom(t, victim), 429, "rotation reset the limited client");
  // Three new clients fit; after them the table is full of clients that
  // have not refilled, so new ones are refused rather than evicting one.
  assertEquals(rotated, [200, 200, 200, ...Array(9).fill(429)]);
  assertEquals(await getFrom(t, "127.0.0.3"), 200, "a tracked client keeps its bucket");
});

Deno.test("rateLimit() forgets clients whose bucket has refilled when the table is full", async () => {
  // One token per 500 ms: a client idle for 700 ms is back to a full bucket.
  await using t = serve(limitedApp({ capacity: 1, refillPerSecond: 2, maxClients: 2 }));
  assertEquals(await getFrom(t, "127.0.1.1"), 200);
  assertEquals(await getFrom(t, "127.0.1.2"), 200);
  assertEquals(await getFrom(t, "127.0.1.3"), 429);
  await new Promise((resolve) => setTimeout(resolve, 700));
  assertEquals(await getFrom(t, "127.0.1.3"), 200);
  assertEquals(await getFrom(t, "127.0.1.4"), 200);
});

Deno.test("rateLimit() checks ipv6Prefix", () => {
  throws(() => rateLimit({ ipv6Prefix: 129 }), RangeError);
  throws(() => rateLimit({ ipv6Prefix: 0 }), RangeError);
  assertEquals((rateLimit().settings as { ipv6Prefix: number }).ipv6Prefix, 64);
  assertEquals((rateLimit({ ipv6Prefix: 56 }).settings as { ipv6Prefix: number }).ipv6Prefix, 56);
});
