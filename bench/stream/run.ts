/**
 * The streaming benchmark: `sse-fanout` (1,000 SSE clients, an event every
 * 100 ms to each), `download-64m` (a 64 MiB streamed download) and
 * `upload-256m` (a 256 MiB chunked upload counted as it arrives), Ferry
 * against Deno.serve and Hono's `streamSSE` on Deno.serve, in alternating
 * rounds. Server pinned to CPU 0, the client (`client.ts`) to CPU 1.
 *
 *   deno run -A bench/stream/run.ts [--rounds N] [--seconds S]
 *     [--clients N] [--downloads N] [--uploads N] [--only sse-fanout,download-64m]
 *     [--peers deno_serve,ferry]
 *
 * Reports per peer the median over rounds of: delivered events per server
 * CPU-second and CPU µs per event, over the window the client counts events
 * in (sse-fanout; the whole run's CPU per event beside it); MiB/s, CPU per MiB and peak
 * RSS growth over a warmed server (download-64m, upload-256m; the growth
 * of the cold warm-up transfer is reported beside it); for Ferry, FFI calls
 * per event or chunk.
 *
 * @module
 */
import { cpuSeconds, peakRssBytes } from "../load/proc.ts";

const args = Deno.args;
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
};
const ROUNDS = Number(flag("rounds", "3"));
const SECONDS = Number(flag("seconds", "5"));
const CLIENTS = Number(flag("clients", "1000"));
// 16 × 64 MiB: about a second per round here, so the CPU time (read from
// /proc in 10 ms ticks) is precise to ~1%; 4 downloads left it at ±7%.
const DOWNLOADS = Number(flag("downloads", "16"));
// 4 × 256 MiB: a few seconds per round already.
const UPLOADS = Number(flag("uploads", "4"));
const ONLY = flag("only", "sse-fanout,download-64m,upload-256m").split(",");
const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = Deno.execPath();
const PEER_NAMES = flag("peers", "deno_serve,ferry,hono").split(",");
const PEERS = [
  { name: "deno_serve", file: "bench/stream/peers/deno_serve.ts" },
  { name: "ferry", file: "bench/stream/peers/ferry.ts" },
  { name: "hono", file: "bench/stream/peers/hono.ts" },
].filter((p) => p.name === "deno_serve" || PEER_NAMES.includes(p.name));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function start(file: string): Promise<{ child: Deno.ChildProcess; port: number }> {
  const port = freePort();
  const child = new Deno.Command("taskset", {
    args: ["-c", "0", DENO, "run", "-A", `${ROOT}${file}`],
    env: { PORT: String(port) },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return { child, port };
    } catch {
      await sleep(50);
    }
  }
  child.kill();
  throw new Error(`${file} did not start listening on ${port}`);
}

function client(...params: string[]): Promise<Record<string, number>> {
  return clientMarked(() => {}, ...params);
}

/**
 * Runs the client and calls `onLine` with each line it prints as it prints
 * it (the SSE client marks its counting window that way); resolves with its
 * last line, parsed.
 */
async function clientMarked(
  onLine: (line: string) => void,
  ...params: string[]
): Promise<Record<string, number>> {
  const child = new Deno.Command("taskset", {
    args: ["-c", "1", DENO, "run", "-A", `${ROOT}bench/stream/client.ts`, ...params],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let last = "";
  let pending = "";
  for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === "") continue;
      onLine(line);
      last = line;
    }
  }
  await child.status;
  return JSON.parse(pending.trim() || last);
}

// deno-lint-ignore no-explicit-any
async function ferryStats(port: number): Promise<Record<string, any>> {
  const res = await fetch(`http://127.0.0.1:${port}/__stats`);
  return await res.json();
}

interface Round {
  [metric: string]: number;
}

async function round(scenario: string, peer: typeof PEERS[number]): Promise<Round> {
  const { child, port } = await start(peer.file);
  try {
    await sleep(300);
    const pid = child.pid;
    let before = peer.name === "ferry" ? await ferryStats(port) : undefined;
    const rss0 = rssBytes(pid);
    const cpu0 = cpuSeconds(pid);
    let result: Round;
    let mibMoved = 0;
    if (scenario === "sse-fanout") {
      // The CPU of the window the client counts events in: sampled when it
      // says the window starts and ends. Opening 1,000 connections and the
      // first half second (JIT, first-use page faults) come before it, the
      // closing after; the whole run's CPU per event is reported beside it.
      let windowStart = NaN;
      let windowEnd = NaN;
      const r = await clientMarked(
        (line) => {
          if (line === "window start") windowStart = cpuSeconds(pid);
          if (line === "window end") windowEnd = cpuSeconds(pid);
        },
        "sse",
        String(port),
        String(CLIENTS),
        String(SECONDS),
      );
      const cpu = windowEnd - windowStart;
      const whole = cpuSeconds(pid) - cpu0;
      result = {
        events: r.events,
        eventsPerSecond: r.events / r.seconds,
        eventsPerCpuSecond: r.events / cpu,
        cpuMicrosPerEvent: cpu / r.events * 1e6,
        wholeRunCpuMicrosPerEvent: whole / r.events * 1e6,
      };
    } else {
      const upload = scenario === "upload-256m";
      // A warm-up transfer first, as bench/load warms every server up: the
      // first one faults in code pages and grows V8's young generation (see
      // docs/streaming.md), which says nothing about what a stream holds.
      // Both growths are reported: from a cold start, and over a warmed
      // server with its peak reset (`clear_refs` 5 resets VmHWM).
      await (upload
        ? client("upload", String(port), "1", "64")
        : client("download", String(port), "1"));
      const coldGrowth = peakRssBytes(pid) - rss0;
      const rss1 = rssBytes(pid);
      Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
      const cpu1 = cpuSeconds(pid);
      if (before) before = await ferryStats(port);
      const r = upload
        ? await client("upload", String(port), String(UPLOADS), "256")
        : await client("download", String(port), String(DOWNLOADS));
      const cpu = cpuSeconds(pid) - cpu1;
      const mib = r.bytes / 1024 / 1024;
      mibMoved = mib;
      result = {
        mibPerSecond: mib / r.seconds,
        cpuMillisPerMib: cpu / mib * 1000,
        rssGrowthMib: (peakRssBytes(pid) - rss1) / 1024 / 1024,
        coldRssGrowthMib: coldGrowth / 1024 / 1024,
      };
    }
    if (before) {
      const after = await ferryStats(port);
      const calls = after.ffiCalls.total - before.ffiCalls.total;
      const chunks = after.chunksIn - before.chunksIn;
      result.ffiCallsPerChunk = chunks > 0 ? calls / chunks : 0;
      result.chunksIn = chunks;
      // Uploads have no response chunks: FFI calls per MiB moved says more.
      if (scenario !== "sse-fanout") {
        result.ffiCallsPerMib = calls / (result.mibPerSecond > 0 ? mibMoved : 1);
      }
    }
    return result;
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

const table: string[] = [];
const SCENARIOS = ["sse-fanout", "download-64m", "upload-256m"];
for (const scenario of SCENARIOS.filter((s) => ONLY.includes(s))) {
  const results = new Map<string, Round[]>(PEERS.map((p) => [p.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const peer of PEERS) {
      const result = await round(scenario, peer);
      results.get(peer.name)!.push(result);
      console.log(`[${scenario} ${r + 1}/${ROUNDS}] ${peer.name} ${JSON.stringify(result)}`);
    }
  }
  const metrics = Object.keys(results.get("ferry")![0]);
  const base = results.get("deno_serve")!;
  const key = scenario === "sse-fanout" ? "eventsPerCpuSecond" : "mibPerSecond";
  table.push(
    `\n### ${scenario} (${ROUNDS} rounds, median; ratio = ${key} ÷ Deno.serve's in the same round)\n`,
  );
  table.push(`| peer | ratio | ${metrics.join(" | ")} |`);
  table.push(`| --- | ---: | ${metrics.map(() => "---:").join(" | ")} |`);
  for (const peer of PEERS) {
    const rounds = results.get(peer.name)!;
    const ratio = median(rounds.map((x, i) => x[key] / base[i][key]));
    const cells = metrics.map((m) => {
      const values = rounds.map((x) => x[m]).filter((v) => v !== undefined);
      return values.length
        ? median(values).toFixed(m === "events" || m === "chunksIn" ? 0 : 2)
        : "–";
    });
    table.push(`| ${peer.name} | ${ratio.toFixed(2)} | ${cells.join(" | ")} |`);
  }
}
console.log(table.join("\n"));
