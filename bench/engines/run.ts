// Compares Ferry's two crossing engines ("pump" and "thread") with
// Deno.serve on plaintext GET /, by the method of DESIGN.md: server pinned to
// CPU 0, wrk pinned to CPU 1, alternating rounds, ratios per round, server
// CPU per request from /proc. Usage:
//   deno run -A bench/engines/run.ts [--set engines|middleware] [--rounds 5]
//     [--duration 5] [--connections 64]
// `--set engines` (default): Deno.serve, Ferry pump, Ferry thread (plaintext).
// `--set middleware`: Ferry JSON route with no middleware, behind 16 sync
// middleware, and from an async handler; ratios against the first.
// `--set ab`: Deno.serve, then Ferry (pump) with the library at FERRY_LIB_A
// and at FERRY_LIB_B: an A/B of two native builds in the same rounds.
// `--set ceiling`: Deno.serve, Ferry (pump) and the plain hyper server of
// bench/peers/hyper (no JavaScript at all: what any server could reach here).
// Prints a markdown table; docs/crossing.md and docs/middleware.md quote it.

import { existsSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "64" },
    set: { type: "string", default: "engines" },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const connections = Number(values.connections);
const here = new URL(".", import.meta.url).pathname;

interface Contender {
  name: string;
  /** Arguments to `deno run -A`, unless `command` is given. */
  args: string[];
  env: Record<string, string>;
  /** A native program to run instead of Deno (argv). */
  command?: string[];
}
const hyperPeer = new URL("../peers/hyper/target/release/hyper-peer", import.meta.url).pathname;
const sets: Record<string, Contender[]> = {
  engines: [
    { name: "Deno.serve", args: [`${here}deno_serve.ts`], env: {} },
    { name: "Ferry pump", args: [`${here}app.ts`], env: { FERRY_ENGINE: "pump" } },
    { name: "Ferry thread", args: [`${here}app.ts`], env: { FERRY_ENGINE: "thread" } },
  ],
  middleware: [
    { name: "JSON, no middleware", args: [`${here}app.ts`], env: { FERRY_APP: "json" } },
    { name: "JSON, 16 sync middleware", args: [`${here}app.ts`], env: { FERRY_APP: "json-mw16" } },
    { name: "JSON, async handler", args: [`${here}app.ts`], env: { FERRY_APP: "json-async" } },
  ],
  ab: [
    { name: "Deno.serve", args: [`${here}deno_serve.ts`], env: {} },
    {
      name: "Ferry A",
      args: [`${here}app.ts`],
      env: { FERRY_LIB: Deno.env.get("FERRY_LIB_A") ?? "" },
    },
    {
      name: "Ferry B",
      args: [`${here}app.ts`],
      env: { FERRY_LIB: Deno.env.get("FERRY_LIB_B") ?? "" },
    },
  ],
  ceiling: [
    { name: "Deno.serve", args: [`${here}deno_serve.ts`], env: {} },
    { name: "Ferry", args: [`${here}app.ts`], env: {} },
    { name: "hyper (no JS)", args: [], env: {}, command: [hyperPeer] },
  ],
};
const contenders = sets[values.set!];
if (!contenders) throw new TypeError(`--set must be one of ${Object.keys(sets).join(", ")}`);
for (const who of contenders) {
  if (who.command && !existsSync(who.command[0])) {
    throw new Error(
      `${who.command[0]} is missing: build it with ` +
        "`cargo build --release --manifest-path bench/peers/hyper/Cargo.toml`",
    );
  }
}
const baseline = contenders[0].name;

function cpuTicks(pid: number): number {
  let total = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const stat = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += Number(fields[11]) + Number(fields[12]);
  }
  return total;
}

async function wrk(port: number, seconds: number, c: number): Promise<number> {
  const out = await new Deno.Command("taskset", {
    args: ["-c", "1", "wrk", "-t1", `-c${c}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (/Non-2xx|Socket errors/.test(text)) throw new Error(`wrk reported errors:\n${text}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0);
}

async function measure(who: Contender, port: number) {
  const argv = who.command ?? [Deno.execPath(), "run", "-A", ...who.args];
  const child = new Deno.Command("taskset", {
    args: ["-c", "0", ...argv],
    env: { ...who.env, PORT: String(port) },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await fetch(`http://127.0.0.1:${port}/`)).body?.cancel();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await wrk(port, 1, connections); // warm-up
  const before = cpuTicks(child.pid);
  const rps = await wrk(port, duration, connections);
  const cpu = (cpuTicks(child.pid) - before) / 100;
  child.kill("SIGTERM");
  const out = new TextDecoder().decode((await child.output()).stdout).trim();
  const stats = out.startsWith("{") ? JSON.parse(out) : undefined;
  return { rps, cpuUsPerReq: (cpu * 1e6) / (rps * duration), stats };
}

interface Row {
  ratio: number[];
  rps: number[];
  cpu: number[];
  batch: number[];
  ffi: number[];
  hops: number[];
}
const rows = new Map<string, Row>();
for (const who of contenders) {
  rows.set(who.name, { ratio: [], rps: [], cpu: [], batch: [], ffi: [], hops: [] });
}
for (let round = 0; round < rounds; round++) {
  const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
  const got = new Map<string, Awaited<ReturnType<typeof measure>>>();
  for (const [i, who] of order.entries()) got.set(who.name, await measure(who, 18400 + i));
  const base = got.get(baseline)!.rps;
  for (const [name, m] of got) {
    const row = rows.get(name)!;
    row.ratio.push(m.rps / base);
    row.rps.push(m.rps);
    row.cpu.push(m.cpuUsPerReq);
    if (m.stats) {
      row.batch.push(m.stats.meanBatch);
      row.ffi.push(m.stats.ffiCallsPerRequest);
      row.hops.push(m.stats.hopsPerRequest);
    }
  }
  console.error(
    `round ${round + 1}/${rounds}: ` +
      [...got].map(([n, m]) => `${n} ${Math.round(m.rps)} req/s`).join(", "),
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fixed = (xs: number[], digits: number) => xs.length ? median(xs).toFixed(digits) : "–";
console.log(
  `| server | req/s (median) | ratio vs ${baseline} (median, range) | CPU µs/req | mean batch | FFI calls/req | hops/req |`,
);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const [name, r] of rows) {
  const range = `${Math.min(...r.ratio).toFixed(2)}–${Math.max(...r.ratio).toFixed(2)}`;
  console.log(
    `| ${name} | ${Math.round(median(r.rps))} | ${median(r.ratio).toFixed(2)} (${range}) | ${
      median(r.cpu).toFixed(2)
    } | ${fixed(r.batch, 1)} | ${fixed(r.ffi, 3)} | ${fixed(r.hops, 2)} |`,
  );
}
