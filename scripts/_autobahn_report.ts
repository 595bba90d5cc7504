// Reads a wstest fuzzingclient report (`<outdir>/index.json` and one JSON per
// case) and renders the per-section summary scripts/conformance_ws.ts prints
// and docs/websockets.md keeps.

/** A case's verdict as wstest writes it in `index.json`. */
export type Behavior =
  | "OK"
  | "NON-STRICT"
  | "INFORMATIONAL"
  | "UNIMPLEMENTED"
  | "FAILED";

/** One case of a run. */
export interface CaseResult {
  /** Case id, e.g. `"6.4.3"`. */
  id: string;
  /** The verdict on the messages exchanged; anything unknown counts as FAILED. */
  behavior: Behavior;
  /** The verdict on the closing handshake (`OK`, `FAILED BY CLIENT`, `UNCLEAN`, …). */
  behaviorClose: string;
  /** The case's description and wstest's reason, read for cases not OK. */
  description?: string;
  result?: string;
}

const BEHAVIORS: Behavior[] = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"];

/** The suite's section titles (there is no section 8 or 11). */
const SECTIONS: Record<string, string> = {
  "1": "Framing",
  "2": "Pings/Pongs",
  "3": "Reserved bits",
  "4": "Opcodes",
  "5": "Fragmentation",
  "6": "UTF-8 handling",
  "7": "Close handling",
  "9": "Limits/performance",
  "10": "Miscellaneous",
  "12": "Compression (payloads)",
  "13": "Compression (parameters)",
};

/** Orders case ids part by part, numerically (`9.10.1` after `9.2.1`). */
export function compareIds(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Text of a description with its HTML (`<br>`) flattened to one line. */
function plain(html: unknown): string {
  return String(html ?? "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
}

/**
 * The cases of `agent` in the report under `outdir`, in id order; cases whose
 * behavior is not OK carry their description and result.
 */
export function readReport(outdir: string, agent: string): CaseResult[] {
  const index = JSON.parse(Deno.readTextFileSync(`${outdir}/index.json`));
  const cases: Record<string, { behavior: string; behaviorClose: string; reportfile: string }> =
    index[agent];
  if (!cases) throw new Error(`the report under ${outdir} has no agent "${agent}"`);
  return Object.entries(cases).map(([id, entry]) => {
    const behavior = (BEHAVIORS as string[]).includes(entry.behavior)
      ? entry.behavior as Behavior
      : "FAILED";
    const result: CaseResult = { id, behavior, behaviorClose: entry.behaviorClose };
    if (behavior !== "OK" || !["OK", "INFORMATIONAL"].includes(entry.behaviorClose)) {
      const detail = JSON.parse(Deno.readTextFileSync(`${outdir}/${entry.reportfile}`));
      result.description = plain(detail.description);
      result.result = `${plain(detail.result)} / ${plain(detail.resultClose)}`;
    }
    return result;
  }).sort((a, b) => compareIds(a.id, b.id));
}

/** Cases whose behavior is FAILED. */
export function failed(cases: CaseResult[]): CaseResult[] {
  return cases.filter((c) => c.behavior === "FAILED");
}

/**
 * The markdown summary: one row per section with the count of each behavior,
 * a total row, then the FAILED cases and the closing handshakes that were not OK.
 *
 * @example
 * ```ts
 * summary([{ id: "1.1.1", behavior: "OK", behaviorClose: "OK" }]);
 * // | Section | Cases | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED |
 * // …
 * // | 1 Framing | 1 | 1 | 0 | 0 | 0 | 0 |
 * ```
 */
export function summary(cases: CaseResult[]): string {
  const rows = new Map<string, Record<Behavior, number>>();
  const zero = () => Object.fromEntries(BEHAVIORS.map((b) => [b, 0])) as Record<Behavior, number>;
  const total = zero();
  for (const c of cases) {
    const section = c.id.split(".")[0];
    if (!rows.has(section)) rows.set(section, zero());
    rows.get(section)![c.behavior]++;
    total[c.behavior]++;
  }
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  const count = (r: Record<Behavior, number>) => BEHAVIORS.reduce((n, b) => n + r[b], 0);
  const out = [
    line(["Section", "Cases", ...BEHAVIORS]),
    line(["---", ...Array(BEHAVIORS.length + 1).fill("--:")]),
  ];
  for (const [section, r] of [...rows].sort((a, b) => compareIds(a[0], b[0]))) {
    const title = `${section} ${SECTIONS[section] ?? ""}`.trim();
    out.push(line([title, count(r), ...BEHAVIORS.map((b) => r[b])]));
  }
  out.push(line(["**Total**", count(total), ...BEHAVIORS.map((b) => total[b])]));

  const bad = failed(cases);
  if (bad.length) {
    out.push("", `FAILED (${bad.length}):`);
    for (const c of bad) out.push(`- ${c.id}: ${c.description} — ${c.result}`);
  }
  const closes = cases.filter((c) =>
    c.behavior !== "FAILED" && !["OK", "INFORMATIONAL"].includes(c.behaviorClose)
  );
  if (closes.length) {
    out.push("", "Closing handshake not OK (reported, not failing):");
    for (const c of closes) out.push(`- ${c.id} ${c.behaviorClose}: ${c.result}`);
  }
  return out.join("\n");
}
