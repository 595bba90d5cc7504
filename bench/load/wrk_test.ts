// Unit tests of the load runner's pure parts: wrk output parsing, the
// command line it builds, and the ratio statistics. No server, no timing.
import assert from "node:assert/strict";
import { median, type ScenarioResult, summarise } from "./results.ts";
import { SCENARIOS } from "./scenarios.ts";
import { parseWrk, wrkCommand } from "./wrk.ts";

const SAMPLE = `Running 3s test @ http://127.0.0.1:1234/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.51us  101.33us   3.10ms   91.02%
    Req/Sec   103.11k     2.01k  106.90k    80.00%
  Latency Distribution
     50%  598.00us
     75%  640.00us
     90%  701.00us
     99%    1.02ms
  307822 requests in 3.00s, 40.25MB read
Requests/sec: 102571.84
Transfer/sec:     13.41MB
`;

Deno.test("parseWrk() reads requests, req/s and percentiles", () => {
  const r = parseWrk(SAMPLE);
  assert.equal(r.requests, 307822);
  assert.equal(r.seconds, 3);
  assert.equal(r.rps, 102571.84);
  assert.equal(r.latency.p50, 598);
  assert.equal(r.latency.p99, 1020);
  assert.equal(r.discard, null);
});

Deno.test("parseWrk() discards runs with socket errors or non-2xx", () => {
  const sock = SAMPLE.replace(
    "Requests/sec",
    "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
  );
  assert.match(parseWrk(sock).discard ?? "", /socket errors: connect 0, read 3/);
  const non2xx = SAMPLE.replace(
    "Requests/sec",
    "  Non-2xx or 3xx responses: 12\nRequests/sec",
  );
  assert.equal(parseWrk(non2xx).non2xx, 12);
  assert.match(parseWrk(non2xx).discard ?? "", /12 non-2xx/);
  assert.equal(parseWrk("garbage").discard, "unreadable wrk output");
});

Deno.test("wrkCommand() pipelines and posts through the Lua scripts", () => {
  const byName = (n: string) => SCENARIOS.find((s) => s.name === n)!;
  const pipe = wrkCommand(byName("pipeline-16"), 9, 3);
  assert.deepEqual(pipe.args.slice(-2), ["--", "16"]);
  assert.ok(pipe.args.some((a) => a.endsWith("pipeline.lua")));
  const post = wrkCommand(byName("json"), 9, 3);
  assert.equal(post.env.WRK_BODY, byName("json").body);
  const user = wrkCommand(byName("user"), 9, 3);
  assert.ok(user.args.includes("x-token: abc"));
  assert.equal(user.args.at(-1), "http://127.0.0.1:9/user/42?name=x");
});

Deno.test("summarise() takes the median of same-round ratios", () => {
  const run = (round: number, rps: number, discard: string | null = null) => ({
    round,
    position: 0,
    rps,
    requests: rps,
    cpuSeconds: rps / 1e5,
    noiseCores: 0,
    retries: 0,
    latency: { p50: 1, p75: 1, p90: 1, p99: 2 },
    discard,
  });
  const s: ScenarioResult = {
    name: "x",
    title: "x",
    connections: 1,
    pipeline: 1,
    peers: [
      {
        peer: "base",
        label: "B",
        skipped: null,
        runs: [run(0, 100), run(1, 200), run(2, 100)],
        peakRssBytes: 0,
        summary: null,
      },
      {
        peer: "p",
        label: "P",
        skipped: null,
        runs: [run(0, 150), run(1, 100), run(2, 1, "x")],
        peakRssBytes: 0,
        summary: null,
      },
    ],
  };
  summarise(s, "base");
  const ratio = s.peers[1].summary!.ratio!;
  assert.deepEqual([ratio.median, ratio.min, ratio.max, ratio.rounds], [1, 0.5, 1.5, 2]);
  assert.equal(s.peers[1].summary!.kept, "2/3");
  assert.equal(median([3, 1, 2, NaN]), 2);
});
