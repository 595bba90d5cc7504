/**
 * The shape of a load-benchmark report (`bench/results/latest.json`) and the
 * statistics that summarise it: medians of per-round values and the median,
 * min and max of per-round ratios to the baseline (`Deno.serve`).
 *
 * @module
 */
import type { Latency } from "./wrk.ts";

/** One measured `wrk` run of one peer in one round. */
export interface RunRecord {
  /** Round index (0-based; warm-up runs are not recorded). */
  round: number;
  /** Position of the peer in this round's order (0 = first). */
  position: number;
  /** Requests per second reported by wrk. */
  rps: number;
  /** Completed requests. */
  requests: number;
  /** Server CPU seconds (utime + stime) spent during the run. */
  cpuSeconds: number;
  /** Noisy attempts run again before this one (see `--retries`). */
  retries: number;
  /** Other work on the machine during the run, in cores (noise). */
  noiseCores: number;
  /** Latency percentiles in µs. */
  latency: Latency;
  /** Why the run was discarded (socket errors, non-2xx), or null. */
  discard: string | null;
}

/** Medians over the kept runs of one peer in one scenario. */
export interface Summary {
  /** Median req/s. */
  rps: number;
  /** Ratio to the baseline in the same round: median, min, max, count. */
  ratio: { median: number; min: number; max: number; rounds: number } | null;
  /** Median server CPU µs per request. */
  cpuUsPerRequest: number;
  /** Median p50 latency, µs. */
  p50: number;
  /** Median p99 latency, µs. */
  p99: number;
  /** Median other work on the machine during kept runs, cores. */
  noiseCores: number;
  /** Kept runs / all runs. */
  kept: string;
}

/** One peer in one scenario. */
export interface PeerResult {
  /** Peer id. */
  peer: string;
  /** Peer label. */
  label: string;
  /** Skip reason, or null when measured. */
  skipped: string | null;
  /** Every measured run, kept or discarded. */
  runs: RunRecord[];
  /** Peak RSS (VmHWM) of the server process over the scenario, bytes. */
  peakRssBytes: number;
  /** Summary of kept runs, or null. */
  summary: Summary | null;
}

/** One scenario's results. */
export interface ScenarioResult {
  /** Scenario id. */
  name: string;
  /** Scenario description. */
  title: string;
  /** wrk connections. */
  connections: number;
  /** Pipelining depth. */
  pipeline: number;
  /** Per-peer results, in peer order. */
  peers: PeerResult[];
}

/** The whole report. */
export interface Report {
  /** Machine and tool versions. */
  machine: Record<string, string | number>;
  /** Run configuration (rounds, durations, pinning). */
  config: Record<string, string | number | boolean | null>;
  /** Peers skipped entirely, with the reason. */
  skippedPeers: { peer: string; reason: string }[];
  /** Per-scenario results. */
  scenarios: ScenarioResult[];
}

/** Median of a list (NaN when empty). */
export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Fills in `summary` of every peer of a scenario against `baseline`. */
export function summarise(scenario: ScenarioResult, baseline: string): void {
  const base = scenario.peers.find((p) => p.peer === baseline);
  const baseByRound = new Map<number, number>();
  for (const r of base?.runs ?? []) {
    if (!r.discard && r.rps > 0) baseByRound.set(r.round, r.rps);
  }
  for (const peer of scenario.peers) {
    const kept = peer.runs.filter((r) => !r.discard && r.requests > 0);
    if (peer.skipped || kept.length === 0) {
      peer.summary = null;
      continue;
    }
    const ratios = kept
      .filter((r) => baseByRound.has(r.round))
      .map((r) => r.rps / baseByRound.get(r.round)!);
    peer.summary = {
      rps: median(kept.map((r) => r.rps)),
      ratio: ratios.length
        ? {
          median: median(ratios),
          min: Math.min(...ratios),
          max: Math.max(...ratios),
          rounds: ratios.length,
        }
        : null,
      cpuUsPerRequest: median(
        kept.map((r) => (r.cpuSeconds / r.requests) * 1e6),
      ),
      p50: median(kept.map((r) => r.latency.p50)),
      p99: median(kept.map((r) => r.latency.p99)),
      noiseCores: median(kept.map((r) => r.noiseCores)),
      kept: `${kept.length}/${peer.runs.length}`,
    };
  }
}
