/**
 * Summarising the runs of the WebSocket benchmark per scenario and peer,
 * and rendering the Markdown table the runner prints.
 *
 * @module
 */
import type { Run } from "./measure.ts";
import { BASELINE } from "./peers.ts";

/** One peer's line in a scenario's table: medians over its good runs. */
export interface Row {
  peer: string;
  label: string;
  runs: number;
  failed: number;
  /** Median of the per-round ratios of messages per server CPU-second. */
  ratio?: number;
  ratioMin?: number;
  ratioMax?: number;
  messagesPerCpuSecond?: number;
  cpuMicrosPerMessage?: number;
  messagesPerSecond?: number;
  serverCores?: number;
  clientCores?: number;
  perSocketMin?: number;
  perSocketMax?: number;
  peakRssMib?: number;
  softirqCores?: number;
  noiseCores?: number;
  ffiCallsPerMessage?: number;
  /** The reasons of the failed runs, deduplicated. */
  errors: string[];
}

const median = (xs: number[]): number | undefined =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : undefined;

/** Summarises one scenario's runs per peer, in `peers` order. */
export function summarise(runs: Run[], peers: { name: string; label: string }[]): Row[] {
  const base = new Map(
    runs.filter((r) => r.peer === BASELINE && !r.error).map((r) => [r.round, r]),
  );
  return peers.map(({ name, label }) => {
    const mine = runs.filter((r) => r.peer === name);
    const good = mine.filter((r) => !r.error);
    const of = (key: keyof Run) =>
      median(good.map((r) => r[key]).filter((v): v is number => typeof v === "number"));
    const ratios = good.flatMap((r) => {
      const b = base.get(r.round);
      return b ? [r.messagesPerCpuSecond! / b.messagesPerCpuSecond!] : [];
    });
    return {
      peer: name,
      label,
      runs: mine.length,
      failed: mine.length - good.length,
      ratio: median(ratios),
      ratioMin: ratios.length ? Math.min(...ratios) : undefined,
      ratioMax: ratios.length ? Math.max(...ratios) : undefined,
      messagesPerCpuSecond: of("messagesPerCpuSecond"),
      cpuMicrosPerMessage: of("cpuMicrosPerMessage"),
      messagesPerSecond: of("messagesPerSecond"),
      serverCores: of("serverCores"),
      clientCores: of("clientCores"),
      perSocketMin: of("perSocketMin"),
      perSocketMax: of("perSocketMax"),
      peakRssMib: of("peakRssMib"),
      softirqCores: of("softirqCores"),
      noiseCores: of("noiseCores"),
      ffiCallsPerMessage: of("ffiCallsPerMessage"),
      errors: [...new Set(mine.flatMap((r) => r.error ? [r.error] : []))],
    };
  });
}

const int = (n: number | undefined) =>
  n === undefined ? "–" : Math.round(n).toLocaleString("en-US");
const fixed = (n: number | undefined, digits: number) => n === undefined ? "–" : n.toFixed(digits);
const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** Renders one scenario's table, its failures listed below it. */
export function renderScenario(title: string, rows: Row[]): string {
  const lines = [
    `### ${title}`,
    "",
    "| server | runs ok | msgs / server CPU-s | ratio (min–max) | CPU µs/msg | msgs/s | server cores | client cores | per socket min–max | peak RSS | FFI calls/msg | softirq cores | noise cores |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const ok = r.runs - r.failed;
    const ratio = r.ratio === undefined
      ? "–"
      : `${r.ratio.toFixed(2)} (${r.ratioMin!.toFixed(2)}–${r.ratioMax!.toFixed(2)})`;
    lines.push(
      `| ${r.label} | ${ok}/${r.runs} | ${int(r.messagesPerCpuSecond)} | ${ratio} | ` +
        `${fixed(r.cpuMicrosPerMessage, 2)} | ${int(r.messagesPerSecond)} | ` +
        `${fixed(r.serverCores, 2)} | ${fixed(r.clientCores, 2)} | ` +
        `${
          r.perSocketMin === undefined ? "–" : `${int(r.perSocketMin)}–${int(r.perSocketMax)}`
        } | ` +
        `${r.peakRssMib === undefined ? "–" : `${r.peakRssMib.toFixed(0)} MiB`} | ` +
        `${fixed(r.ffiCallsPerMessage, 3)} | ${fixed(r.softirqCores, 2)} | ` +
        `${fixed(r.noiseCores, 2)} |`,
    );
  }
  const failures = rows.flatMap((r) => r.errors.map((e) => `- ${r.label} failed: ${cell(e)}`));
  if (failures.length) lines.push("", ...failures);
  return lines.join("\n");
}
