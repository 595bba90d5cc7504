/**
 * The WebSocket benchmark: `ws-echo` (256 sockets, each with one small
 * message in flight to an echo endpoint) and `ws-broadcast` (1,000
 * subscribers; every message of one publisher socket goes to all of them),
 * Deno.serve, Bun, Ferry and Hono in alternating rounds, with a fresh server
 * per run. Server pinned to CPU 0, the Rust client (`client/`, built with
 * cargo on first use) to CPU 1. See docs/benchmarks.md.
 *
 *   deno run -A bench/ws/run.ts [--only ws-echo,ws-broadcast]
 *     [--peers deno_serve,bun,ferry,hono] [--rounds N] [--seconds S]
 *     [--warmup S] [--sockets N] [--subscribers N] [--depth N] [--window N]
 *     [--size BYTES]
 *
 * Reports per scenario and peer the median over rounds of messages per
 * server CPU-second and its ratio to Deno.serve's in the same round; for
 * Ferry also FFI calls per message (from `server.stats()` over `/__stats`).
 * Writes every run to `bench/results/ws-latest.json`; prints Markdown.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { describeMachine } from "../load/machine.ts";
import { type ClientOptions, measureRun, type Run } from "./measure.ts";
import { BASELINE, BUN_BIN, PEERS } from "./peers.ts";
import { renderScenario, type Row, summarise } from "./report.ts";

const SCENARIOS: Record<string, string> = {
  "ws-echo": "echo: each socket sends a message, waits for its echo, sends the next",
  "ws-broadcast": "broadcast: one publisher, every message sent by the server to all subscribers",
};
const HELP = `Usage: deno run -A bench/ws/run.ts [options]
  --only a,b         scenarios: ${Object.keys(SCENARIOS).join(",")} (default all)
  --peers a,b        peers: ${PEERS.map((p) => p.name).join(",")} (default all;
                     ${BASELINE} is always added)
  --rounds N         alternating rounds per scenario (default 3)
  --seconds S        seconds counted per run (default 5)
  --warmup S         seconds of traffic before counting, per run (default 1)
  --sockets N        ws-echo sockets (default 256)
  --subscribers N    ws-broadcast subscribers (default 1000)
  --depth N          ws-echo messages in flight per socket (default 1)
  --window N         ws-broadcast messages the publisher may be ahead (default 8)
  --size BYTES       minimum message size (default 64)`;

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const CLIENT_DIR = `${ROOT}/bench/ws/client`;
const CLIENT_BIN = `${CLIENT_DIR}/target/release/ws-client`;
const RESULTS = `${ROOT}/bench/results/ws-latest.json`;

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: "string" },
      peers: { type: "string" },
      rounds: { type: "string", default: "3" },
      seconds: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      sockets: { type: "string", default: "256" },
      subscribers: { type: "string", default: "1000" },
      depth: { type: "string", default: "1" },
      window: { type: "string", default: "8" },
      size: { type: "string", default: "64" },
      help: { type: "boolean", default: false },
    },
  });
  const num = (name: keyof typeof values, min: number, integer = true) => {
    const n = Number(values[name]);
    if (Number.isNaN(n) || n < min || (integer && !Number.isInteger(n))) {
      throw new RangeError(`--${name} must be ${integer ? "an integer" : "a number"} >= ${min}`);
    }
    return n;
  };
  const list = (value: string | undefined, known: string[], what: string) => {
    if (!value) return known;
    const names = value.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length) throw new RangeError(`Unknown ${what} ${JSON.stringify(unknown)}`);
    return names;
  };
  const peers = list(values.peers, PEERS.map((p) => p.name), "peers");
  return {
    help: values.help,
    scenarios: list(values.only, Object.keys(SCENARIOS), "scenarios"),
    peers: PEERS.filter((p) => p.name === BASELINE || peers.includes(p.name)),
    rounds: num("rounds", 1),
    seconds: num("seconds", 0.1, false),
    warmup: num("warmup", 0, false),
    sockets: num("sockets", 1),
    subscribers: num("subscribers", 1),
    depth: num("depth", 1),
    window: num("window", 1),
    size: num("size", 1),
  };
}

async function buildClient(): Promise<void> {
  const out = await new Deno.Command("cargo", {
    args: ["build", "--release", "--quiet", "--manifest-path", `${CLIENT_DIR}/Cargo.toml`],
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`Building the WebSocket client failed:\n${err}`);
  }
}

const options = parseOptions(Deno.args);
if (options.help) {
  console.log(HELP);
  Deno.exit(0);
}
console.error("building bench/ws/client (cargo, first run only) and preparing peers…");
await buildClient();
const notReady = new Map<string, string>();
for (const peer of options.peers) {
  const reason = await peer.prepare(ROOT);
  if (reason) {
    notReady.set(peer.name, reason);
    console.error(`${peer.label}: not prepared: ${reason}`);
  }
}
// Per run: ~1 s of start-up and handshakes, the warm-up, the window, ~0.5 s after.
const perRun = 1.5 + options.warmup + options.seconds;
const total = options.scenarios.length * options.rounds * options.peers.length * perRun;
console.error(`estimate: ~${Math.ceil(total / 60)} min`);

const scenarios: { name: string; description: string; rows: Row[]; runs: Run[] }[] = [];
const tables: string[] = [];
for (const scenario of options.scenarios) {
  const client: ClientOptions = {
    scenario,
    sockets: scenario === "ws-echo" ? options.sockets : options.subscribers,
    depth: options.depth,
    window: options.window,
    size: options.size,
    warmup: options.warmup,
    seconds: options.seconds,
  };
  const runs: Run[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order each round: no peer always runs first or last.
    const order = options.peers.map((_, i, all) => all[(i + round) % all.length]);
    for (const peer of order) {
      const reason = notReady.get(peer.name);
      const run: Run = {
        peer: peer.name,
        round,
        ...(reason ? { error: `not prepared: ${reason}` } : await measureRun(
          ROOT,
          CLIENT_BIN,
          peer,
          client,
        )),
      };
      runs.push(run);
      const what = run.error
        ? `FAILED: ${run.error}`
        : `${Math.round(run.messagesPerCpuSecond!).toLocaleString("en-US")} msgs/CPU-s, ${
          Math.round(run.messagesPerSecond!).toLocaleString("en-US")
        } msgs/s, ` +
          `server ${run.serverCores!.toFixed(2)} cores, noise ${run.noiseCores!.toFixed(2)}`;
      console.error(`[${scenario} ${round + 1}/${options.rounds}] ${peer.label}: ${what}`);
    }
  }
  const rows = summarise(runs, options.peers);
  scenarios.push({ name: scenario, description: SCENARIOS[scenario], rows, runs });
  const size = scenario === "ws-echo"
    ? `${client.sockets} sockets, depth ${client.depth}`
    : `${client.sockets} subscribers, window ${client.window}`;
  tables.push(renderScenario(
    `${scenario} (${size}, ${client.size}-byte messages; ${options.rounds} rounds × ` +
      `${options.seconds} s, median; ratio = msgs per server CPU-s ÷ Deno.serve's in the same round)`,
    rows,
  ));
}

const hasBun = options.peers.some((p) => p.name === "bun") && !notReady.has("bun");
const machine = await describeMachine(ROOT, hasBun ? BUN_BIN : null);
delete machine.wrk;
const report = {
  machine,
  config: {
    rounds: options.rounds,
    seconds: options.seconds,
    warmup: options.warmup,
    serverCpus: "0",
    clientCpus: "1",
    baseline: BASELINE,
    sockets: options.sockets,
    subscribers: options.subscribers,
    depth: options.depth,
    window: options.window,
    size: options.size,
  },
  notPrepared: Object.fromEntries(notReady),
  scenarios,
};
await Deno.mkdir(`${ROOT}/bench/results`, { recursive: true });
await Deno.writeTextFile(RESULTS, JSON.stringify(report, null, 2) + "\n");
console.log(
  `## WebSocket benchmark\n\nMachine: ${machine.nproc} × ${machine.cpu} · ${machine.os} · ` +
    `deno ${machine.deno} · bun ${machine.bun} · ${machine.date}. Server pinned to CPU 0, client to CPU 1.\n\n` +
    tables.join("\n\n"),
);
console.error(`wrote ${RESULTS.slice(ROOT.length + 1)}`);
