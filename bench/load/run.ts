/**
 * Ferry's load benchmark against its peers (Deno.serve, Hono, Bun, Node,
 * hyper). See docs/benchmarks.md for the method.
 *
 * ```sh
 * deno run -A bench/load/run.ts [--quick] [--rounds N] [--duration S]
 *   [--warmup S] [--only scenario,...] [--peers a,b] [--max-noise C]
 *   [--retries N] [--no-pin]
 * ```
 *
 * `--quick` only starts every peer and checks every scenario (exit 1 when a
 * required peer fails a scenario it claims). The full run writes
 * `bench/results/latest.{json,md,svg}`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { renderChart } from "./chart.ts";
import { checkScenario } from "./check.ts";
import { describeMachine, hasTool } from "./machine.ts";
import { measureScenario, type Pinning, type Target } from "./measure.ts";
import { BASELINE, type Peer, PEERS } from "./peers.ts";
import { renderMarkdown } from "./report.ts";
import type { Report } from "./results.ts";
import { SCENARIOS, STATIC_FILE, staticFixture } from "./scenarios.ts";
import { type RunningServer, startServer } from "./server.ts";

const HELP = `Usage: deno run -A bench/load/run.ts [options]
  --quick            start every peer and check every scenario; no timing
  --rounds N         alternating rounds per scenario (default 5)
  --duration S       seconds per wrk run (default 3)
  --warmup S         seconds of warm-up per server and scenario (default 1)
  --only a,b         scenarios: ${SCENARIOS.map((s) => s.name).join(",")}
  --peers a,b        peers: ${PEERS.map((p) => p.name).join(",")}
  --max-noise C      discard a run when other work on the machine used more
                     than C cores meanwhile (default 0.1; "inf" keeps all)
  --retries N        run a noisy run again up to N times, after waiting for
                     the machine to be quiet (default 1)
  --no-pin           do not pin with taskset (results then mean little)`;

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const RESULTS = `${ROOT}/bench/results`;

function list(value: string | undefined, known: string[], what: string) {
  if (!value) return null;
  const names = value.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) {
    throw new RangeError(`Unknown ${what} ${JSON.stringify(unknown)}`);
  }
  return names;
}

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      rounds: { type: "string", default: "5" },
      duration: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      only: { type: "string" },
      peers: { type: "string" },
      "max-noise": { type: "string", default: "0.1" },
      retries: { type: "string", default: "1" },
      "no-pin": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  const int = (v: string, name: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new RangeError(`--${name} must be an integer >= ${min}: "${v}"`);
    }
    return n;
  };
  const maxNoise = Number(values["max-noise"] === "inf" ? Infinity : values["max-noise"]);
  if (Number.isNaN(maxNoise) || maxNoise < 0) {
    throw new RangeError(`--max-noise must be a number >= 0: "${values["max-noise"]}"`);
  }
  const only = list(values.only, SCENARIOS.map((s) => s.name), "scenario");
  const peers = list(values.peers, PEERS.map((p) => p.name), "peer");
  return {
    help: values.help,
    quick: values.quick,
    rounds: int(values.rounds, "rounds", 1),
    duration: int(values.duration, "duration", 1),
    warmup: int(values.warmup, "warmup", 0),
    maxNoise,
    retries: int(values.retries, "retries", 0),
    scenarios: SCENARIOS.filter((s) => !only || only.includes(s.name)),
    // The baseline always runs: every ratio is relative to it.
    peers: PEERS.filter((p) => !peers || peers.includes(p.name) || p.name === BASELINE),
    pin: !values["no-pin"],
  };
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return await Promise.resolve(port);
}

const live = new Set<RunningServer>();

/** Starts a peer on a free port, tracked so Ctrl-C stops it. */
async function startPeer(
  peer: Peer,
  staticDir: string,
  cpus: string | null,
): Promise<RunningServer> {
  const server = await startServer({
    cmd: peer.cmd,
    cwd: ROOT,
    port: await freePort(),
    env: { ...peer.env, STATIC_DIR: staticDir },
    cpus,
  });
  live.add(server);
  const stop = server.stop;
  server.stop = () => (live.delete(server), stop());
  return server;
}

type Verdicts = Map<string, Map<string, string | null>>;

/** Starts every peer once and checks every scenario against it. */
async function checkAll(
  peers: Peer[],
  scenarios: typeof SCENARIOS,
  staticDir: string,
  staticBytes: Uint8Array,
  cpus: string | null,
): Promise<Verdicts> {
  const verdicts: Verdicts = new Map();
  for (const peer of peers) {
    const byScenario = new Map<string, string | null>();
    verdicts.set(peer.name, byScenario);
    let server: RunningServer;
    try {
      server = await startPeer(peer, staticDir, cpus);
    } catch (e) {
      const why = `did not start: ${(e as Error).message}`;
      for (const s of scenarios) byScenario.set(s.name, why);
      console.log(`check ${peer.name}: ${why}`);
      continue;
    }
    const parts: string[] = [];
    for (const s of scenarios) {
      const why = await checkScenario(s, server.port, staticBytes);
      byScenario.set(s.name, why);
      parts.push(why ? `${s.name} FAIL (${why})` : `${s.name} ok`);
    }
    await server.stop();
    console.log(`check ${peer.name}: ${parts.join(", ")}`);
  }
  return verdicts;
}

function estimateSeconds(
  opts: ReturnType<typeof parseOptions>,
  peers: number,
): number {
  // Measured: ~1 s to start the servers, ~0.1 s per wrk run on top of -d.
  const perScenario = 1 + peers * (opts.warmup + 0.1) +
    opts.rounds * peers * (opts.duration + 0.1);
  return 10 + opts.scenarios.length * perScenario;
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseOptions>;
  try {
    opts = parseOptions(Deno.args);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  const pinnable = opts.pin && navigator.hardwareConcurrency >= 2 &&
    await hasTool("taskset", ["-V"]);
  if (opts.pin && !pinnable) {
    console.warn(
      "warning: taskset or a second CPU is missing: running unpinned",
    );
  }
  const pin: Pinning = pinnable ? { server: "0", wrk: "1" } : { server: null, wrk: null };
  if (!opts.quick && !(await hasTool("wrk", ["-v"]))) {
    console.error("wrk is missing: apt-get install -y wrk");
    return 2;
  }
  const staticDir = await Deno.makeTempDir({ prefix: "ferry-bench-static-" });
  const staticBytes = staticFixture();
  await Deno.writeFile(`${staticDir}/${STATIC_FILE}`, staticBytes);
  const onSignal = () => {
    Promise.all([...live].map((s) => s.stop()))
      .then(() => Deno.remove(staticDir, { recursive: true }))
      .finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const skippedPeers: { peer: string; reason: string }[] = [];
    const ready: Peer[] = [];
    for (const peer of opts.peers) {
      const t0 = performance.now();
      const why = await peer.prepare(ROOT);
      const took = ((performance.now() - t0) / 1000).toFixed(1);
      if (why) skippedPeers.push({ peer: peer.name, reason: why });
      else ready.push(peer);
      console.log(
        `prepare ${peer.name}: ${why ? `skipped (${why})` : "ok"} (${took} s)`,
      );
    }
    if (!opts.quick) {
      const min = estimateSeconds(opts, ready.length) / 60;
      console.log(
        `plan: ${opts.scenarios.length} scenarios × ${ready.length} servers × ` +
          `${opts.rounds} rounds × ${opts.duration} s (+${opts.warmup} s ` +
          `warm-up) ≈ ${min.toFixed(1)} min`,
      );
    }
    const verdicts = await checkAll(
      ready,
      opts.scenarios,
      staticDir,
      staticBytes,
      pin.server,
    );

    if (opts.quick) {
      return quickSummary(opts.peers, opts.scenarios, skippedPeers, verdicts);
    }

    const targets: Target[] = opts.peers.map((peer) => ({
      peer,
      skipped: skippedPeers.find((s) => s.peer === peer.name)?.reason ?? null,
    }));
    const report: Report = {
      machine: await describeMachine(
        ROOT,
        ready.some((p) => p.name === "bun") ? PEERS.find((p) => p.name === "bun")!.cmd[0] : null,
      ),
      config: {
        rounds: opts.rounds,
        duration: opts.duration,
        warmup: opts.warmup,
        serverCpus: pin.server,
        wrkCpus: pin.wrk,
        maxNoiseCores: Number.isFinite(opts.maxNoise) ? opts.maxNoise : null,
        noiseRetries: opts.retries,
        baseline: BASELINE,
        staticFile: `${STATIC_FILE} (${staticBytes.length} bytes, read from disk per request)`,
      },
      skippedPeers,
      scenarios: [],
    };
    const t0 = performance.now();
    for (const scenario of opts.scenarios) {
      const result = await measureScenario(scenario, targets, verdicts, {
        rounds: opts.rounds,
        duration: opts.duration,
        warmup: opts.warmup,
        maxNoise: opts.maxNoise,
        retries: opts.retries,
        pin,
        start: (peer) => startPeer(peer, staticDir, pin.server),
      });
      report.scenarios.push(result);
    }
    await Deno.mkdir(RESULTS, { recursive: true });
    await Deno.writeTextFile(
      `${RESULTS}/latest.json`,
      JSON.stringify(report, null, 2) + "\n",
    );
    await Deno.writeTextFile(`${RESULTS}/latest.md`, renderMarkdown(report));
    await Deno.writeTextFile(`${RESULTS}/latest.svg`, renderChart(report));
    const min = ((performance.now() - t0) / 60000).toFixed(1);
    console.log(`\ndone in ${min} min: bench/results/latest.{json,md,svg}\n`);
    console.log(renderMarkdown(report));
    return 0;
  } finally {
    await Promise.all([...live].map((s) => s.stop()));
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await Deno.remove(staticDir, { recursive: true });
  }
}

/** Prints the `--quick` verdict and returns the exit code. */
function quickSummary(
  peers: Peer[],
  scenarios: typeof SCENARIOS,
  skippedPeers: { peer: string; reason: string }[],
  verdicts: Verdicts,
): number {
  let passed = 0, failed = 0;
  const skipped: string[] = [];
  for (const peer of peers) {
    const prep = skippedPeers.find((s) => s.peer === peer.name)?.reason;
    const fails: string[] = [];
    for (const s of scenarios) {
      const why = prep ?? verdicts.get(peer.name)?.get(s.name) ?? null;
      if (why === null) {
        passed++;
      } else if (peer.required && !peer.pending?.[s.name]) {
        failed++;
        fails.push(prep ? s.name : `${s.name} (${why})`);
      } else {
        skipped.push(
          `${peer.name}/${s.name} (${peer.pending?.[s.name] ?? why})`,
        );
      }
    }
    if (fails.length) {
      console.log(
        `FAIL ${peer.name}: ${fails.join(", ")}${prep ? ` — ${prep}` : ""}`,
      );
    }
  }
  if (skipped.length) console.log(`skipped: ${skipped.join("; ")}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
