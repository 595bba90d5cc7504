/**
 * Measuring one scenario: start every peer that passed its check, warm each
 * up, then run alternating rounds (round r runs every peer once, the order
 * rotated by r) reading server CPU time around each `wrk` run, and peak RSS
 * at the end.
 *
 * @module
 */
import { BASELINE, type Peer } from "./peers.ts";
import { cpuSeconds, machineBusySeconds, peakRssBytes, selfAndReapedSeconds } from "./proc.ts";
import { type PeerResult, type ScenarioResult, summarise } from "./results.ts";
import type { Scenario } from "./scenarios.ts";
import type { RunningServer } from "./server.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** CPU lists for `taskset`: the server's and wrk's (null = unpinned). */
export interface Pinning {
  /** CPUs of the server and all its threads. */
  server: string | null;
  /** CPUs of wrk. */
  wrk: string | null;
}

/** A peer to measure, or the reason it was skipped before starting. */
export interface Target {
  /** The peer. */
  peer: Peer;
  /** Why the whole peer is skipped (preparation failed), or null. */
  skipped: string | null;
}

/** How to measure. */
export interface MeasureOptions {
  /** Alternating rounds. */
  rounds: number;
  /** Seconds per measured wrk run. */
  duration: number;
  /** Seconds of warm-up per peer (0 = none). */
  warmup: number;
  /** CPU pinning. */
  pin: Pinning;
  /**
   * Discard a run when other work on the machine (CPU not spent by the
   * server, wrk or this runner) averaged more than this many cores.
   */
  maxNoise: number;
  /** How often a run discarded for noise is run again, after waiting for quiet. */
  retries: number;
  /** Starts a peer server. */
  start(peer: Peer): Promise<RunningServer>;
}

/** Seconds a scenario may spend waiting for a quiet machine, in total. */
const WAIT_BUDGET_S = 20;
const NO_LATENCY = { p50: NaN, p75: NaN, p90: NaN, p99: NaN };

function short(rps: number): string {
  return rps >= 1000 ? `${(rps / 1000).toFixed(1)}k` : rps.toFixed(0);
}

/** Runs every round of `scenario` and returns its summarised result. */
export async function measureScenario(
  scenario: Scenario,
  targets: Target[],
  verdicts: Map<string, Map<string, string | null>>,
  opts: MeasureOptions,
): Promise<ScenarioResult> {
  const result: ScenarioResult = {
    name: scenario.name,
    title: scenario.title,
    connections: scenario.connections,
    pipeline: scenario.pipeline,
    peers: [],
  };
  const servers = new Map<string, RunningServer>();
  for (const { peer, skipped } of targets) {
    const entry: PeerResult = {
      peer: peer.name,
      label: peer.label,
      skipped: skipped ?? verdicts.get(peer.name)?.get(scenario.name) ?? null,
      runs: [],
      peakRssBytes: 0,
      summary: null,
    };
    result.peers.push(entry);
    if (entry.skipped) continue;
    try {
      servers.set(peer.name, await opts.start(peer));
    } catch (e) {
      entry.skipped = `did not start: ${(e as Error).message}`;
    }
  }
  const measured = result.peers.filter((p) => servers.has(p.peer));
  try {
    if (opts.warmup > 0) {
      for (const p of measured) {
        await runWrk(
          scenario,
          servers.get(p.peer)!.port,
          opts.warmup,
          opts.pin.wrk,
        );
      }
    }
    let waitBudget = WAIT_BUDGET_S;
    for (let round = 0; round < opts.rounds; round++) {
      const order = measured.map((_, i) => measured[(i + round) % measured.length]);
      const base = new Map<string, number>();
      for (const [position, p] of order.entries()) {
        const server = servers.get(p.peer)!;
        let run = await measureRun(scenario, server, opts);
        let retries = 0;
        // Another process stole the machine: wait for quiet, run again. A
        // machine that stays busy gets no more waiting in this scenario.
        for (; retries < opts.retries && run.noisy && waitBudget > 0; retries++) {
          const t0 = performance.now();
          const quiet = await waitForQuiet(opts.maxNoise, waitBudget);
          waitBudget -= (performance.now() - t0) / 1000;
          if (!quiet) break;
          run = await measureRun(scenario, server, opts);
        }
        const wrk = run.wrk;
        p.runs.push({
          round,
          position,
          rps: wrk.rps,
          requests: wrk.requests,
          cpuSeconds: run.cpu,
          noiseCores: run.noiseCores,
          retries,
          // wrk's latency histogram is wrong under pipelining (0 µs rows).
          latency: scenario.pipeline > 1 ? NO_LATENCY : wrk.latency,
          discard: wrk.discard,
        });
        if (!wrk.discard) base.set(p.peer, wrk.rps);
      }
      console.log(
        progressLine(scenario.name, round, opts.rounds, measured, base),
      );
    }
    for (const p of measured) {
      p.peakRssBytes = peakRssBytes(servers.get(p.peer)!.pid);
    }
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
  }
  summarise(result, BASELINE);
  return result;
}

/** One wrk run with the server's CPU time and the machine's other work. */
async function measureRun(
  scenario: Scenario,
  server: RunningServer,
  opts: MeasureOptions,
): Promise<{ wrk: WrkResult; cpu: number; noiseCores: number; noisy: boolean }> {
  const busy0 = machineBusySeconds(), self0 = selfAndReapedSeconds();
  const cpu0 = cpuSeconds(server.pid), t0 = performance.now();
  const wrk = await runWrk(scenario, server.port, opts.duration, opts.pin.wrk);
  const cpu = cpuSeconds(server.pid) - cpu0;
  const elapsed = (performance.now() - t0) / 1000;
  // Everything busy on the machine that was not the server, wrk or us.
  const other = machineBusySeconds() - busy0 - cpu - (selfAndReapedSeconds() - self0);
  const noiseCores = Math.max(0, other / elapsed);
  const noisy = !wrk.discard && noiseCores > opts.maxNoise;
  if (noisy) wrk.discard = `noise: other work used ${noiseCores.toFixed(2)} cores`;
  return { wrk, cpu, noiseCores, noisy };
}

/**
 * Waits until other work stays under `maxNoise` cores for a second, at most
 * `budget` seconds. Returns whether the machine became quiet.
 */
async function waitForQuiet(maxNoise: number, budget: number): Promise<boolean> {
  for (let i = 0; i < Math.min(budget, 60); i++) {
    const busy0 = machineBusySeconds(), self0 = selfAndReapedSeconds();
    await new Promise((r) => setTimeout(r, 1000));
    const other = machineBusySeconds() - busy0 - (selfAndReapedSeconds() - self0);
    if (other <= maxNoise) return true;
  }
  return false;
}

/** One line per round: req/s of each peer and its ratio to the baseline. */
function progressLine(
  name: string,
  round: number,
  rounds: number,
  measured: PeerResult[],
  rps: Map<string, number>,
): string {
  const base = rps.get(BASELINE);
  const parts = measured.map((p) => {
    const v = rps.get(p.peer);
    if (v === undefined) {
      const why = p.runs.at(-1)?.discard ?? "no result";
      return `${p.peer} DISCARDED (${why})`;
    }
    const ratio = base && p.peer !== BASELINE ? ` ×${(v / base).toFixed(2)}` : "";
    return `${p.peer} ${short(v)}${ratio}`;
  });
  return `[${name} ${round + 1}/${rounds}] ${parts.join(" | ")}`;
}
