/**
 * A hand-written SVG bar chart of the median ratio to `Deno.serve` per
 * scenario and server (`bench/results/latest.svg`): horizontal grouped bars,
 * min–max whiskers, a dashed line at 1.0, labelled axis and a legend. The
 * axis stops at 3×; longer bars are drawn cut, with their value in bold.
 *
 * @module
 */
import type { Report } from "./results.ts";

const COLORS = [
  "#6b7280", // baseline: grey
  "#0f766e",
  "#2563eb",
  "#d97706",
  "#7c3aed",
  "#dc2626",
  "#65a30d",
  "#db2777",
];

const AXIS_CAP = 3;

function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function niceStep(max: number): number {
  if (max <= 2) return 0.25;
  if (max <= 4) return 0.5;
  if (max <= 10) return 1;
  return Math.ceil(max / 10);
}

/** Renders the median ratios of `report` as an SVG document. */
export function renderChart(report: Report): string {
  const labels = new Map<string, string>();
  for (const s of report.scenarios) {
    for (const p of s.peers) labels.set(p.peer, p.label);
  }
  const peers = [...labels.keys()];
  const color = (peer: string) => COLORS[peers.indexOf(peer) % COLORS.length];

  let max = 1;
  for (const s of report.scenarios) {
    for (const p of s.peers) {
      const r = p.summary?.ratio;
      if (r) max = Math.max(max, r.max, r.median);
    }
  }
  // One outlier (hyper pipelined is ~10×) would flatten every other bar:
  // the axis stops at AXIS_CAP and longer bars are drawn broken.
  const shown = Math.min(max, AXIS_CAP);
  const step = niceStep(shown);
  const top = Math.ceil((shown * 1.05) / step) * step;

  const W = 900, left = 170, right = 60, barH = 10, barGap = 2, groupGap = 14;
  const legendH = 26 + Math.ceil(peers.length / 4) * 18;
  const titleH = 34;
  const groupH = peers.length * (barH + barGap) + groupGap;
  const plotTop = titleH + legendH;
  const plotH = report.scenarios.length * groupH;
  const H = plotTop + plotH + 56;
  const plotW = W - left - right;
  const x = (v: number) => left + (Math.min(v, top) / top) * plotW;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" ` +
    `font-weight="bold">Throughput relative to Deno.serve (higher is better)</text>`,
  ];
  peers.forEach((peer, i) => {
    const lx = left + (i % 4) * 170, ly = titleH + 8 + Math.floor(i / 4) * 18;
    out.push(
      `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${color(peer)}"/>`,
      `<text x="${lx + 17}" y="${ly + 10}">${esc(labels.get(peer)!)}</text>`,
    );
  });
  for (let v = 0; v <= top + 1e-9; v += step) {
    const gx = x(v).toFixed(1);
    out.push(
      `<line x1="${gx}" y1="${plotTop}" x2="${gx}" y2="${plotTop + plotH}" ` +
        `stroke="#e5e7eb"/>`,
      `<text x="${gx}" y="${plotTop + plotH + 16}" text-anchor="middle">` +
        `${Number(v.toFixed(2))}</text>`,
    );
  }
  const one = x(1).toFixed(1);
  out.push(
    `<line x1="${one}" y1="${plotTop - 4}" x2="${one}" y2="${plotTop + plotH}" ` +
      `stroke="#111" stroke-dasharray="4 3"/>`,
    `<line x1="${left}" y1="${plotTop + plotH}" x2="${left + plotW}" ` +
      `y2="${plotTop + plotH}" stroke="#111"/>`,
    `<text x="${left + plotW / 2}" y="${plotTop + plotH + 36}" ` +
      `text-anchor="middle" font-size="12">req/s ÷ Deno.serve req/s in the ` +
      `same round — median of rounds, whiskers min–max</text>`,
    `<text x="14" y="${plotTop + plotH / 2}" font-size="12" text-anchor="middle" ` +
      `transform="rotate(-90 14 ${plotTop + plotH / 2})">scenario</text>`,
  );

  report.scenarios.forEach((s, gi) => {
    const gy = plotTop + gi * groupH + groupGap / 2;
    const mid = gy + (peers.length * (barH + barGap)) / 2;
    out.push(
      `<text x="${left - 8}" y="${mid + 4}" text-anchor="end" ` +
        `font-weight="bold">${esc(s.name)}</text>`,
    );
    peers.forEach((peer, pi) => {
      const by = gy + pi * (barH + barGap);
      const entry = s.peers.find((p) => p.peer === peer);
      const r = entry?.summary?.ratio;
      if (!r) {
        const why = entry?.skipped ? "skipped" : "no ratio (runs discarded)";
        out.push(
          `<text x="${left + 4}" y="${by + barH - 1}" fill="#9ca3af" ` +
            `font-size="9">${esc(labels.get(peer)!)}: ${why}</text>`,
        );
        return;
      }
      const w = Math.max(1, x(r.median) - left);
      const cy = by + barH / 2;
      const broken = r.median > top;
      out.push(
        `<rect x="${left}" y="${by}" width="${w.toFixed(1)}" height="${barH}" ` +
          `fill="${color(peer)}"><title>${esc(labels.get(peer)!)}: ` +
          `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})` +
          `</title></rect>`,
        `<line x1="${x(r.min).toFixed(1)}" y1="${cy}" x2="${x(r.max).toFixed(1)}" ` +
          `y2="${cy}" stroke="#111" stroke-width="1"/>`,
        `<text x="${(Math.max(x(r.max), x(r.median)) + 4).toFixed(1)}" ` +
          `y="${by + barH - 1}" font-size="9"${broken ? ' font-weight="bold"' : ""}>` +
          `${r.median.toFixed(2)}${broken ? " »" : ""}</text>`,
      );
      if (broken) {
        // A white zigzag near the end marks the bar as cut.
        const bx = left + plotW - 18;
        out.push(
          `<path d="M${bx} ${by - 1} l4 ${barH / 2 + 1} l-4 ${barH / 2 + 1} ` +
            `m6 0 l-4 ${-(barH / 2 + 1)} l4 ${-(barH / 2 + 1)}" ` +
            `stroke="#fff" stroke-width="2" fill="none"/>`,
        );
      }
    });
  });
  out.push("</svg>", "");
  return out.join("\n");
}
