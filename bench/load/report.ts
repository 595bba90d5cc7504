/**
 * Rendering a load-benchmark report as Markdown (`bench/results/latest.md`).
 *
 * @module
 */
import type { Report } from "./results.ts";

/** Formats µs as "123 µs" or "1.23 ms". */
export function formatMicros(us: number): string {
  if (!Number.isFinite(us)) return "–";
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`;
}

function formatRps(rps: number): string {
  return Number.isFinite(rps) ? Math.round(rps).toLocaleString("en-US") : "–";
}

function formatMiB(bytes: number): string {
  return bytes > 0 ? `${(bytes / 1048576).toFixed(1)} MiB` : "–";
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** Renders the report as a Markdown document. */
export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const c = report.config;
  const lines: string[] = [
    "# Ferry load benchmark — latest run",
    "",
    `Machine: ${m.nproc} × ${m.cpu} · ${m.os} · deno ${m.deno} · node ${m.node}` +
    ` · bun ${m.bun} · ${m.wrk} · ${m.date}`,
    "",
    `Method: server pinned to CPU ${c.serverCpus ?? "(unpinned)"}, ` +
    `\`wrk -t1\` pinned to CPU ${c.wrkCpus ?? "(unpinned)"}; ${c.rounds} ` +
    `alternating rounds × ${c.duration} s per scenario after a ${c.warmup} s ` +
    "warm-up per server; ratio = server req/s ÷ Deno.serve req/s in the same " +
    "round, median (min–max) over rounds. CPU µs/req = server utime+stime ÷ " +
    "requests. p50/p99 = median over rounds of wrk's percentiles (not given for pipelined runs: wrk's histogram is wrong there). Peak RSS = " +
    "VmHWM of the server over the scenario. kept = runs kept / measured " +
    "(discarded: socket errors, non-2xx, or other work on the machine above " +
    `${c.maxNoiseCores ?? "∞"} cores); noise = median cores of other work ` +
    "during kept runs. Absolute req/s are not stable " +
    "across machines; ratios are. See docs/benchmarks.md.",
    "",
    "| scenario | server | req/s | ratio vs Deno.serve | CPU µs/req | p50 | p99 | peak RSS | kept | noise |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const notes: string[] = [];
  const wholly = new Set(report.skippedPeers.map((s) => s.peer));
  for (const s of report.scenarios) {
    for (const p of s.peers) {
      const sum = p.summary;
      if (!sum) {
        const state = p.skipped ? "skipped" : "all discarded";
        lines.push(
          `| ${s.name} | ${p.label} | ${state} | – | – | – | – | – | ` +
            `0/${p.runs.length} | – |`,
        );
        if (p.skipped && !wholly.has(p.peer)) {
          notes.push(`- ${s.name} / ${p.label}: skipped — ${cell(p.skipped)}`);
        }
        for (const run of p.runs.filter((x) => x.discard)) {
          notes.push(
            `- ${s.name} / ${p.label}: round ${run.round + 1} discarded — ${cell(run.discard!)}`,
          );
        }
        continue;
      }
      const r = sum.ratio;
      const ratio = r ? `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : "–";
      lines.push(
        `| ${s.name} | ${p.label} | ${formatRps(sum.rps)} | ${ratio} | ` +
          `${sum.cpuUsPerRequest.toFixed(1)} | ${formatMicros(sum.p50)} | ` +
          `${formatMicros(sum.p99)} | ${formatMiB(p.peakRssBytes)} | ` +
          `${sum.kept} | ${sum.noiseCores.toFixed(2)} |`,
      );
      for (const run of p.runs.filter((x) => x.discard)) {
        notes.push(
          `- ${s.name} / ${p.label}: round ${run.round + 1} discarded — ${cell(run.discard!)}`,
        );
      }
    }
  }
  lines.push("", "Scenarios:", "");
  for (const s of report.scenarios) lines.push(`- **${s.name}**: ${s.title}`);
  if (report.skippedPeers.length) {
    lines.push("", "Servers skipped entirely:", "");
    for (const s of report.skippedPeers) {
      lines.push(`- ${s.peer}: ${cell(s.reason)}`);
    }
  }
  const retried = report.scenarios.flatMap((s) => s.peers.flatMap((p) => p.runs))
    .reduce((n, r) => n + (r.retries ?? 0), 0);
  if (retried) {
    notes.push(`- ${retried} noisy run(s) were run again after the machine was quiet.`);
  }
  if (notes.length) lines.push("", "Skips and discarded rounds:", "", ...notes);
  lines.push("", "![median ratio to Deno.serve](latest.svg)", "");
  return lines.join("\n");
}
