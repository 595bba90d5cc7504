/**
 * The peer servers of the WebSocket benchmark (all in `bench/ws/peers/`):
 * how to prepare and start each. A peer that cannot be prepared is reported
 * with the reason, never silently dropped.
 *
 * @module
 */
import { PEERS as LOAD_PEERS } from "../load/peers.ts";

/** One WebSocket peer server. */
export interface WsPeer {
  /** Short id (`--peers`). */
  name: string;
  /** Label used in reports. */
  label: string;
  /** Command to start it, relative to the repository root; `PORT` in env. */
  cmd: string[];
  /** Whether it serves `GET /__stats` with Ferry's `server.stats()`. */
  stats: boolean;
  /** Installs or caches what the peer needs; returns a failure reason or null. */
  prepare(root: string): Promise<string | null>;
}

/** The name of the rival every ratio is relative to. */
export const BASELINE = "deno_serve";

// The Deno running this harness, never `deno` from PATH (see load/peers.ts).
const DENO = Deno.execPath();
const DENO_RUN = [DENO, "run", "-A", "--no-lock"];
/** The `bun` binary of the npm package, relative to the repository root. */
export const BUN_BIN = "bench/peers/node_modules/.bin/bun";

/** Caches a Deno peer's imports (npm packages, Ferry's modules). */
async function cache(root: string, file: string): Promise<string | null> {
  const out = await new Deno.Command(DENO, {
    args: ["cache", "--no-lock", file],
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.success) return null;
  const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3);
  return `\`deno cache ${file}\` failed: ${err.join(" | ")}`;
}

const denoPeer = (name: string, label: string, stats = false): WsPeer => ({
  name,
  label,
  cmd: [...DENO_RUN, `bench/ws/peers/${name}.ts`],
  stats,
  prepare: (root) => cache(root, `bench/ws/peers/${name}.ts`),
});

/** Every peer, baseline first. */
export const PEERS: readonly WsPeer[] = [
  denoPeer(BASELINE, "Deno.serve"),
  {
    name: "bun",
    label: "Bun.serve",
    cmd: [BUN_BIN, "bench/ws/peers/bun.ts"],
    stats: false,
    // The load benchmark's: `npm install bun` into bench/peers/node_modules.
    prepare: (root) => LOAD_PEERS.find((p) => p.name === "bun")!.prepare(root),
  },
  denoPeer("ferry", "Ferry", true),
  denoPeer("hono", "Hono (Deno)"),
];
