/**
 * Runs the Autobahn|Testsuite (`wstest -m fuzzingclient`, PyPI
 * `autobahntestsuite`) against a WebSocket echo server and prints a
 * per-section summary as markdown. Exits 1 when any case FAILED.
 *
 *   deno task conformance:ws                      # Ferry's examples/ws_echo.ts
 *   deno task conformance:ws --peer deno_serve    # the Deno.serve reference
 *   deno task conformance:ws --server "<cmd>"     # any server reading $PORT
 *   deno task conformance:ws --url ws://127.0.0.1:9001/   # one already running
 *
 * Options: `--cases 1.*,7.1.*` (default sections 1–10), `--compression`
 * (adds 12.* and 13.*, permessage-deflate), `--timeout <seconds>` for the
 * whole wstest run (default 600), `--out <dir>` for the reports (default a
 * temporary directory; open its `reports/servers/index.html`).
 *
 * wstest needs Python 2.7: the first run builds a pinned virtualenv under
 * the Ferry cache (scripts/_autobahn_venv.ts); FERRY_PYTHON2 picks the
 * interpreter. Not part of `deno task ok`. The last summaries are kept in
 * docs/websockets.md.
 *
 * @module
 */
import { wstest } from "./_autobahn_venv.ts";
import { type CaseResult, failed, readReport, summary } from "./_autobahn_report.ts";

const USAGE = `usage: deno task conformance:ws [--peer ferry|deno_serve] [--server "<cmd>"]
  [--url ws://127.0.0.1:PORT/path] [--cases 1.*,2.*] [--compression]
  [--timeout SECONDS] [--out DIR]`;

const SECTIONS_1_10 = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"];
const COMPRESSION = ["12.*", "13.*"];

const root = new URL("../", import.meta.url).pathname;
const deno = Deno.execPath();

/** The servers `--peer` names: each reads its port from $PORT and echoes on "/". */
const PEERS: Record<string, { command: string[]; build?: boolean }> = {
  ferry: { command: [deno, "run", "-A", "examples/ws_echo.ts"], build: true },
  deno_serve: { command: [deno, "run", "-A", "scripts/ws_echo_deno.ts"] },
};

interface Options {
  agent: string;
  command?: string[];
  build: boolean;
  url?: string;
  cases: string[];
  timeoutMs: number;
  out?: string;
}

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

const OPTIONS = ["peer", "server", "url", "cases", "compression", "timeout", "out"];

function parse(args: string[]): Options {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    }
    if (!arg.startsWith("--")) usage(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!OPTIONS.includes(name)) usage(`unknown option "--${name}"`);
    if (name === "compression") flags.set(name, "");
    else if (eq >= 0) flags.set(name, arg.slice(eq + 1));
    else if (i + 1 < args.length) flags.set(name, args[++i]);
    else usage(`"--${name}" needs a value`);
  }
  const peerName = flags.get("peer") ?? "ferry";
  const peer = PEERS[peerName];
  if (!peer) usage(`unknown peer "${peerName}" (one of ${Object.keys(PEERS).join(", ")})`);
  if (flags.has("peer") && (flags.has("server") || flags.has("url"))) {
    usage(`"--peer" does not go with "--server" or "--url"`);
  }
  const server = flags.get("server");
  const custom = server !== undefined || flags.has("url");
  const cases = flags.get("cases")?.split(",").map((c) => c.trim()).filter(Boolean) ??
    SECTIONS_1_10;
  if (flags.has("compression")) cases.push(...COMPRESSION);
  const timeout = Number(flags.get("timeout") ?? 600);
  if (!(timeout > 0)) usage(`"--timeout" must be a positive number of seconds`);
  return {
    agent: custom ? "server" : peerName,
    // `exec` so the server is the shell's own process, the one we stop.
    command: custom ? (server === undefined ? undefined : ["sh", "-c", `exec ${server}`]) : [
      ...peer.command,
    ],
    build: !custom && !!peer.build,
    url: flags.get("url"),
    cases,
    timeoutMs: timeout * 1000,
    out: flags.get("out"),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Waits (at most 30 s) until host:port accepts a connection or `exited` says the server died. */
async function ready(host: string, port: number, exited: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (exited()) throw new Error("the server exited before it accepted a connection");
    try {
      (await Deno.connect({ hostname: host, port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing accepted connections on ${host}:${port} within 30 s`);
}

/** Stops a child: SIGTERM, then SIGKILL after 5 s. */
async function stop(child: Deno.ChildProcess): Promise<void> {
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, 5000);
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.status;
  clearTimeout(timer);
}

/** Runs wstest in `out`, keeping its output in `out/wstest.log`; false on timeout. */
async function fuzz(program: string, out: string, timeoutMs: number): Promise<boolean> {
  const child = new Deno.Command(program, {
    args: ["-m", "fuzzingclient", "-s", "fuzzingclient.json"],
    cwd: out,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop(child);
  }, timeoutMs);
  const log: string[] = [];
  let section = "";
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      log.push(text);
      // "Running test case ID 6.4.3 for agent …": say when a section starts.
      for (const [, id] of text.matchAll(/Running test case ID (\S+)/g)) {
        const s = id.split(".")[0];
        if (s !== section) console.error(`autobahn: section ${(section = s)}…`);
      }
    }
  };
  await Promise.all([read(child.stdout), read(child.stderr), child.status]);
  clearTimeout(timer);
  const text = log.join("");
  Deno.writeTextFileSync(`${out}/wstest.log`, text);
  const status = await child.status;
  if (timedOut || !status.success) {
    console.error(text.split("\n").slice(-30).join("\n"));
    console.error(
      timedOut
        ? `autobahn: wstest did not finish within ${timeoutMs / 1000} s (the last case above hung)`
        : `autobahn: wstest exited with ${status.code}`,
    );
  }
  return !timedOut;
}

async function main(): Promise<number> {
  const options = parse(Deno.args);
  const program = await wstest();

  let url = options.url;
  let server: Deno.ChildProcess | undefined;
  let exited = false;
  if (options.command) {
    if (options.build) {
      const build = await new Deno.Command(deno, {
        args: ["run", "-A", "scripts/build_if_needed.ts"],
        cwd: root,
      }).spawn().status;
      if (!build.success) return build.code || 1;
    }
    const port = url ? Number(new URL(url).port || 80) : freePort();
    url ??= `ws://127.0.0.1:${port}/`;
    server = new Deno.Command(options.command[0], {
      args: options.command.slice(1),
      cwd: root,
      env: { PORT: String(port) },
      stdin: "null",
    }).spawn();
    server.status.then(() => exited = true);
  }
  if (!url) usage(`"--url" is needed`);

  const out = options.out ?? await Deno.makeTempDir({ prefix: "ferry-autobahn-" });
  Deno.mkdirSync(out, { recursive: true });
  const spec = {
    outdir: "./reports/servers",
    servers: [{ agent: options.agent, url, options: { version: 18 } }],
    cases: options.cases,
    "exclude-cases": [],
    "exclude-agent-cases": {},
  };
  Deno.writeTextFileSync(`${out}/fuzzingclient.json`, JSON.stringify(spec, null, 2) + "\n");

  let cases: CaseResult[] = [];
  const started = performance.now();
  try {
    const { hostname, port } = new URL(url);
    await ready(hostname, Number(port || 80), () => exited);
    console.error(`autobahn: ${options.cases.join(" ")} against ${url} (${options.agent})`);
    const finished = await fuzz(program, out, options.timeoutMs);
    if (exited) console.error("autobahn: the server exited during the run");
    if (!finished) return 1;
    cases = readReport(`${out}/reports/servers`, options.agent);
  } finally {
    if (server) await stop(server);
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(summary(cases));
  console.log(`\n${cases.length} cases in ${seconds} s; report: ${out}/reports/servers/index.html`);
  return failed(cases).length ? 1 : 0;
}

try {
  Deno.exit(await main());
} catch (error) {
  console.error(`autobahn: ${error instanceof Error ? error.message : error}`);
  Deno.exit(2);
}
