/**
 * The peer servers of the load benchmark (all in `bench/peers/`): how to
 * prepare each (install, build), how to start it, and which scenarios it
 * claims to support. A peer that cannot be prepared is skipped with the
 * reason, never silently dropped.
 *
 * @module
 */

/** One peer server. */
export interface Peer {
  /** Short id (`--peers`). */
  name: string;
  /** Label used in reports. */
  label: string;
  /** Command to start it, relative to the repository root. */
  cmd: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /**
   * Whether `--quick` must fail when this peer fails a scenario it claims.
   * Peers that may legitimately be unavailable here (Bun) are not required.
   */
  required: boolean;
  /**
   * Scenarios the peer does not claim yet, with the reason. Their check
   * failures are reported as skipped but do not fail `--quick`.
   */
  pending?: Record<string, string>;
  /** Installs or builds what the peer needs; returns a skip reason or null. */
  prepare(root: string): Promise<string | null>;
}

/** The name of the rival every ratio is relative to. */
export const BASELINE = "deno_serve";

const BUN_BIN = "bench/peers/node_modules/.bin/bun";
const HYPER_BIN = "bench/peers/hyper/target/release/hyper-peer";

/** Runs a command; returns null on success or a one-line failure reason. */
async function run(
  cmd: string[],
  cwd: string,
): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    const err = new TextDecoder().decode(out.stderr).trim().split("\n");
    return `\`${cmd.join(" ")}\` failed (${out.code}): ${err.slice(-3).join(" | ")}`;
  } catch (e) {
    return `\`${cmd[0]}\` could not run: ${(e as Error).message}`;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

// The Deno running this harness, never `deno` from PATH: under
// `npx deno@2 task …` there may be no `deno` on PATH at all, or another one.
const DENO = Deno.execPath();
const DENO_RUN = [DENO, "run", "-A", "--no-lock"];

/**
 * The validation scenarios compare Ferry (Rust) with zod on Deno.serve,
 * by hand and through Hono's validator; the other peers do not claim them.
 */
const NO_VALIDATION: Record<string, string> = {
  "valid-body": "no schema validation in this peer",
  "invalid-body": "no schema validation in this peer",
};

/** Plain servers claim neither the validation nor the framework scenarios. */
const PLAIN_SERVER: Record<string, string> = {
  ...NO_VALIDATION,
  mounted: "a framework scenario (sub-apps, scoped middleware); this peer is a plain server",
};

/** Every peer, baseline first. */
export const PEERS: readonly Peer[] = [
  {
    name: BASELINE,
    label: "Deno.serve",
    cmd: [...DENO_RUN, "bench/peers/deno_serve.ts"],
    required: true,
    prepare: () => Promise.resolve(null),
  },
  {
    name: "ferry",
    label: "Ferry",
    cmd: [...DENO_RUN, "bench/peers/ferry.ts"],
    required: true,
    // Scenarios Ferry cannot serve yet, with the reason; --quick then does
    // not require them. Empty since const routes and app.static landed.
    pending: {},
    async prepare(root) {
      if (!(await exists(`${root}/mod.ts`))) return "mod.ts not found";
      return await run(
        [DENO, "cache", "--no-lock", "bench/peers/ferry.ts"],
        root,
      );
    },
  },
  // An A/B in the same rounds: `FERRY_LIB_B=/path/to/libferry.so` runs this
  // checkout's TypeScript on another native build; `FERRY_B_DIR=/path/to/
  // checkout` runs another checkout (its TypeScript and its own build).
  // Then `deno task bench:load --peers deno_serve,ferry,ferry-b`.
  ...(Deno.env.get("FERRY_LIB_B") || Deno.env.get("FERRY_B_DIR")
    ? [{
      name: "ferry-b",
      label: Deno.env.get("FERRY_B_DIR") ? "Ferry (FERRY_B_DIR)" : "Ferry (FERRY_LIB_B)",
      cmd: [
        "env",
        ...(Deno.env.get("FERRY_LIB_B") ? [`FERRY_LIB=${Deno.env.get("FERRY_LIB_B")}`] : []),
        ...DENO_RUN,
        `${Deno.env.get("FERRY_B_DIR") ?? "."}/bench/peers/ferry.ts`,
      ],
      required: false,
      prepare: () => Promise.resolve(null),
    }]
    : []),
  // The access log's cost: Ferry with `logger()` on every request.
  {
    name: "ferry-logged",
    label: "Ferry + logger()",
    cmd: ["env", "FERRY_LOGGER=1", ...DENO_RUN, "bench/peers/ferry.ts"],
    required: false,
    prepare: () => Promise.resolve(null),
  },
  // The schema's cost: Ferry with the `valid-body` route, handler and body
  // but no schema (the handler parses the body itself).
  {
    name: "ferry-noschema",
    label: "Ferry, no schema",
    cmd: ["env", "FERRY_NO_SCHEMA=1", ...DENO_RUN, "bench/peers/ferry.ts"],
    required: false,
    pending: { "invalid-body": "no schema: the route takes any body (valid-body's twin)" },
    prepare: () => Promise.resolve(null),
  },
  {
    name: "hono",
    label: "Hono (Deno)",
    cmd: [...DENO_RUN, "bench/peers/hono.ts"],
    required: true,
    prepare: (root) => run([DENO, "cache", "--no-lock", "bench/peers/hono.ts"], root),
  },
  {
    name: "hono-on-ferry",
    label: "Hono (Ferry serve())",
    cmd: [...DENO_RUN, "bench/peers/hono_on_ferry.ts"],
    required: true,
    prepare: (root) => run([DENO, "cache", "--no-lock", "bench/peers/hono_on_ferry.ts"], root),
  },
  {
    name: "bun",
    label: "Bun.serve",
    cmd: [BUN_BIN, "bench/peers/bun.ts"],
    required: false,
    pending: PLAIN_SERVER,
    async prepare(root) {
      if (!(await exists(`${root}/${BUN_BIN}`))) {
        const failed = await run([
          "npm",
          "install",
          "--no-save",
          "--no-package-lock",
          "--no-audit",
          "--no-fund",
          "--prefix",
          "bench/peers",
          "bun@1",
        ], root);
        if (failed) return `npm install bun failed: ${failed}`;
      }
      return await run([BUN_BIN, "--version"], root);
    },
  },
  {
    name: "node",
    label: "Node http",
    cmd: ["node", "bench/peers/node_http.mjs"],
    required: true,
    pending: PLAIN_SERVER,
    prepare: (root) => run(["node", "--version"], root),
  },
  {
    name: "hyper",
    label: "hyper (Rust)",
    cmd: [HYPER_BIN],
    env: { THREADS: "1" },
    required: true,
    pending: PLAIN_SERVER,
    prepare: (root) =>
      run([
        "cargo",
        "build",
        "--release",
        "--quiet",
        "--manifest-path",
        "bench/peers/hyper/Cargo.toml",
      ], root),
  },
];

/** Reads the version line of a tool, or "n/a". */
export async function versionOf(cmd: string[], cwd: string): Promise<string> {
  try {
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    return text.trim().split("\n")[0] || "n/a";
  } catch {
    return "n/a";
  }
}
