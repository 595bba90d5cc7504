/**
 * One measured run of the WebSocket benchmark: start a peer pinned on CPU 0,
 * run the client (`client/`) pinned on CPU 1, and read the server's CPU time
 * at the client's `start` and `stop` markers, so only the counted window is
 * charged (not the handshakes, the warm-up or the teardown).
 *
 * @module
 */
import {
  CLOCK_TICKS,
  cpuSeconds,
  machineBusySeconds,
  peakRssBytes,
  selfAndReapedSeconds,
} from "../load/proc.ts";
import type { WsPeer } from "./peers.ts";

/** What the client is asked to do (its command-line options). */
export interface ClientOptions {
  /** `ws-echo` or `ws-broadcast`. */
  scenario: string;
  /** Echo sockets, or broadcast subscribers. */
  sockets: number;
  /** Echo messages in flight per socket. */
  depth: number;
  /** Broadcast messages the publisher may be ahead of the slowest subscriber. */
  window: number;
  /** Minimum message size in bytes. */
  size: number;
  /** Seconds of traffic before counting starts. */
  warmup: number;
  /** Seconds counted. */
  seconds: number;
}

/** What one run measured, or why it failed. */
export interface Run {
  peer: string;
  round: number;
  /** Why the run failed; the other fields are then absent. */
  error?: string;
  /** Echoes (ws-echo) or deliveries (ws-broadcast) counted by the client. */
  messages?: number;
  /** Messages published in the window (ws-broadcast). */
  published?: number;
  seconds?: number;
  messagesPerSecond?: number;
  messagesPerCpuSecond?: number;
  cpuMicrosPerMessage?: number;
  /** Server CPU seconds per second of the window (1 = its core was busy). */
  serverCores?: number;
  /** The client's CPU seconds per second of the window. */
  clientCores?: number;
  /**
   * Softirq time of the whole machine per second of the window: mostly the
   * kernel's loopback TCP work for this run, charged to no process.
   */
  softirqCores?: number;
  /**
   * Busy cores of the machine not used by the server, client, runner or
   * softirq: other work on the machine.
   */
  noiseCores?: number;
  perSocketMin?: number;
  perSocketMax?: number;
  /** VmHWM of the server at the end of the run. */
  peakRssMib?: number;
  /** Ferry only: FFI calls (`stats().ffiCalls.total`) per counted message. */
  ffiCallsPerMessage?: number;
  /** Ferry only: the WebSocket fields of `stats()` (deltas of counters). */
  wsStats?: Record<string, number>;
}

interface Sample {
  at: number;
  server: number;
  client: number;
  machine: number;
  softirq: number;
  self: number;
  // deno-lint-ignore no-explicit-any
  stats?: any;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Softirq seconds of the whole machine so far (the `cpu` line of /proc/stat). */
function softirqSeconds(): number {
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/);
  return Number(fields[7]) / CLOCK_TICKS;
}

/** Keeps the last lines of a stream (a child's stderr) for error reports. */
function tail(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-4000);
    }
  })().catch(() => {});
  return () => {
    const lines = text.trim().split("\n");
    // Deno prints an uncaught error first, then its source line and stack.
    const error = lines.find((line) => /^error\b/i.test(line));
    return (error ? [error] : lines.slice(-3)).join(" | ");
  };
}

/** Splits a stream of text into lines. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    yield* parts;
  }
  if (buffered.trim()) yield buffered;
}

interface Server {
  child: Deno.ChildProcess;
  port: number;
  stderr: () => string;
  exited: () => Deno.CommandStatus | undefined;
}

async function startServer(root: string, peer: WsPeer): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command("taskset", {
    args: ["-c", "0", ...peer.cmd],
    cwd: root,
    env: { PORT: String(port), NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = tail(child.stderr);
  let status: Deno.CommandStatus | undefined;
  child.status.then((s) => status = s);
  for (let i = 0; i < 300; i++) {
    if (status) throw new Error(`exited (${status.code}) before listening: ${stderr()}`);
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { child, port, stderr, exited: () => status };
    } catch {
      await sleep(50);
    }
  }
  if (!status) child.kill("SIGKILL");
  throw new Error(`did not listen on ${port} within 15 s: ${stderr()}`);
}

// deno-lint-ignore no-explicit-any
async function ferryStats(port: number): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}/__stats`);
  if (!res.ok) throw new Error(`GET /__stats answered ${res.status}`);
  return await res.json();
}

/**
 * The WebSocket fields of `server.stats()`, read defensively (their names
 * are not settled): every number whose key names sockets, ws, publishes or messages,
 * at the top level or in a nested `ws` object. Counters are given as the
 * change over the window; open sockets (`…Open`) as read at its start (all
 * open), ratios (`…Per…`) as read at its end.
 */
// deno-lint-ignore no-explicit-any
function wsStats(before: any, after: any): Record<string, number> {
  const out: Record<string, number> = {};
  const flat = (s: Record<string, unknown>) => ({ ...s, ...(s?.ws as object ?? {}) });
  const [b, a] = [flat(before ?? {}), flat(after ?? {})];
  for (const [key, value] of Object.entries(a)) {
    if (typeof value !== "number" || !/ws|socket|publish|message/i.test(key)) continue;
    const before = b[key as keyof typeof b];
    if (/open/i.test(key)) out[key] = typeof before === "number" ? before : value;
    else if (/per/i.test(key) || typeof before !== "number") out[key] = value;
    else out[key] = value - before;
  }
  return out;
}

/** Runs the client against one fresh server of `peer`. */
export async function measureRun(
  root: string,
  clientBin: string,
  peer: WsPeer,
  o: ClientOptions,
): Promise<Omit<Run, "peer" | "round">> {
  let server: Server;
  try {
    server = await startServer(root, peer);
  } catch (e) {
    return { error: `server: ${(e as Error).message}` };
  }
  const pid = server.child.pid;
  try {
    const client = new Deno.Command("taskset", {
      args: [
        ...["-c", "1", clientBin, o.scenario, String(server.port)],
        ...["--sockets", String(o.sockets), "--depth", String(o.depth)],
        ...["--window", String(o.window), "--size", String(o.size)],
        ...["--warmup", String(o.warmup), "--seconds", String(o.seconds)],
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const clientErr = tail(client.stderr);
    const watchdog = setTimeout(() => client.kill("SIGKILL"), (o.warmup + o.seconds + 90) * 1000);
    const sample = async (): Promise<Sample> => ({
      at: performance.now(),
      server: cpuSeconds(pid),
      client: cpuSeconds(client.pid),
      machine: machineBusySeconds(),
      softirq: softirqSeconds(),
      self: selfAndReapedSeconds(),
      stats: peer.stats ? await ferryStats(server.port).catch(() => undefined) : undefined,
    });
    let start: Sample | undefined;
    let stop: Sample | undefined;
    // deno-lint-ignore no-explicit-any
    let summary: any;
    for await (const line of lines(client.stdout)) {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        continue;
      }
      if (event.event === "start") start = await sample();
      else if (event.event === "stop") stop = await sample();
      else if (event.event === "summary") summary = event;
    }
    const status = await client.status;
    clearTimeout(watchdog);
    const exited = server.exited();
    if (exited) {
      return { error: `server exited (${exited.code}) during the run: ${server.stderr()}` };
    }
    if (!summary) {
      return { error: `client exited (${status.code}) without a summary: ${clientErr()}` };
    }
    if (summary.errors > 0) {
      return { error: `${summary.errors} client error(s): ${summary.errorSamples.join("; ")}` };
    }
    if (!start || !stop) return { error: "client printed no start/stop markers" };
    if (!(summary.messages > 0)) return { error: "no messages counted" };
    const seconds = (stop.at - start.at) / 1000;
    const cpu = stop.server - start.server;
    const run: Omit<Run, "peer" | "round"> = {
      messages: summary.messages,
      published: summary.published,
      seconds: summary.seconds,
      messagesPerSecond: summary.messages / summary.seconds,
      messagesPerCpuSecond: summary.messages / cpu,
      cpuMicrosPerMessage: cpu / summary.messages * 1e6,
      serverCores: cpu / seconds,
      clientCores: (stop.client - start.client) / seconds,
      softirqCores: (stop.softirq - start.softirq) / seconds,
      noiseCores: (stop.machine - start.machine - cpu - (stop.client - start.client) -
        (stop.self - start.self) - (stop.softirq - start.softirq)) / seconds,
      perSocketMin: summary.perSocketMin,
      perSocketMax: summary.perSocketMax,
      peakRssMib: peakRssBytes(pid) / 1048576,
    };
    if (peer.stats) {
      const calls = stop.stats?.ffiCalls?.total - start.stats?.ffiCalls?.total;
      if (Number.isFinite(calls)) run.ffiCallsPerMessage = calls / summary.messages;
      run.wsStats = wsStats(start.stats, stop.stats);
    }
    return run;
  } finally {
    if (!server.exited()) server.child.kill("SIGKILL");
    await server.child.status;
  }
}
