/**
 * Running `wrk` pinned to CPU 1 for one scenario and parsing its `--latency`
 * output: requests, req/s, latency percentiles, socket errors, non-2xx.
 *
 * @module
 */
import type { Scenario } from "./scenarios.ts";

/** Latency percentiles in microseconds. */
export interface Latency {
  /** Median. */
  p50: number;
  /** 75th percentile. */
  p75: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
}

/** What one `wrk` run reported. */
export interface WrkResult {
  /** Completed requests (responses). */
  requests: number;
  /** Measured duration in seconds. */
  seconds: number;
  /** Requests per second as printed by wrk. */
  rps: number;
  /** Latency percentiles, µs (NaN when absent). */
  latency: Latency;
  /** Socket errors: connect + read + write + timeout. */
  socketErrors: number;
  /** Count of "Non-2xx or 3xx responses". */
  non2xx: number;
  /** Why this run must be discarded, or null. */
  discard: string | null;
}

const UNIT_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 6e7 };
const UNIT_S: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600 };

function toMicros(value: string, unit: string): number {
  return Number(value) * (UNIT_US[unit] ?? NaN);
}

/** Parses the text `wrk --latency` prints. */
export function parseWrk(text: string): WrkResult {
  const pct = (p: string): number => {
    const m = text.match(
      new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m"),
    );
    // wrk prints 0.00us rows when its histogram overflows (pipelining).
    const us = m ? toMicros(m[1], m[2]) : NaN;
    return us > 0 ? us : NaN;
  };
  const done = text.match(/(\d+) requests in ([\d.]+)(ms|s|m|h)/);
  const rps = text.match(/Requests\/sec:\s+([\d.]+)/);
  const sock = text.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  );
  const non2xx = text.match(/Non-2xx or 3xx responses: (\d+)/);
  const socketErrors = sock ? sock.slice(1, 5).reduce((a, b) => a + Number(b), 0) : 0;
  const result: WrkResult = {
    requests: done ? Number(done[1]) : 0,
    seconds: done ? Number(done[2]) * (UNIT_S[done[3]] ?? NaN) : 0,
    rps: rps ? Number(rps[1]) : 0,
    latency: { p50: pct("50"), p75: pct("75"), p90: pct("90"), p99: pct("99") },
    socketErrors,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    discard: null,
  };
  if (!done || !rps) result.discard = "unreadable wrk output";
  else if (result.requests === 0) result.discard = "no requests completed";
  else if (sock) result.discard = `socket errors: ${sock[0].slice(15)}`;
  else if (non2xx) result.discard = `${result.non2xx} non-2xx/3xx responses`;
  return result;
}

/** Where the Lua scripts live. */
const LUA_DIR = new URL(".", import.meta.url).pathname;

/** Builds the `wrk` argument list and environment for a scenario. */
export function wrkCommand(
  scenario: Scenario,
  port: number,
  seconds: number,
): { args: string[]; env: Record<string, string> } {
  const args = [
    "-t1",
    `-c${scenario.connections}`,
    `-d${seconds}s`,
    "--latency",
  ];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(scenario.headers ?? {})) {
    args.push("-H", `${k}: ${v}`);
  }
  const url = `http://127.0.0.1:${port}${scenario.path}`;
  if (scenario.pipeline > 1) {
    args.push(
      "-s",
      `${LUA_DIR}pipeline.lua`,
      url,
      "--",
      String(scenario.pipeline),
    );
  } else if (scenario.body !== undefined) {
    env.WRK_METHOD = scenario.method;
    env.WRK_BODY = scenario.body;
    env.WRK_CONTENT_TYPE = "application/json";
    args.push("-s", `${LUA_DIR}post_json.lua`, url);
  } else {
    args.push(url);
  }
  return { args, env };
}

/**
 * Runs `wrk` (pinned with `taskset -c cpus` unless `cpus` is null) and parses
 * its output. A hung wrk is killed after the duration plus 15 s.
 */
export async function runWrk(
  scenario: Scenario,
  port: number,
  seconds: number,
  cpus: string | null,
): Promise<WrkResult & { output: string }> {
  const { args, env } = wrkCommand(scenario, port, seconds);
  const argv = cpus === null ? ["wrk", ...args] : ["taskset", "-c", cpus, "wrk", ...args];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already finished.
    }
  }, (seconds + 15) * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  const result = parseWrk(text);
  // A scenario whose expected answer is an error (invalid-body: 422) counts
  // those answers as the work measured, not as a failure; the correctness
  // check already proved every peer gives exactly that answer.
  if (scenario.expect.status >= 400 && result.discard?.endsWith("non-2xx/3xx responses")) {
    result.discard = null;
  }
  if (!out.success && !result.discard) {
    result.discard = `wrk exited ${out.code}`;
  }
  return { ...result, output: text };
}
