/**
 * Soak test: a Ferry server in a subprocess takes a million requests from
 * wrk (text, JSON, params, POST echo, async routes in rotation) while its
 * RSS is sampled every second from /proc/PID/status. It fails when RSS grows
 * more than 5% after warm-up, when any answer is not 2xx, or when the
 * server's stats on SIGTERM show a slot still in use.
 *
 *     deno run -A bench/soak.ts [--requests 1000000] [--connections 64] [--round 5]
 *
 * Needs `wrk` (Debian package) and Linux /proc. Pins the server to CPU 0 and
 * wrk to CPU 1 when `taskset` exists, as docs/benchmarks do.
 *
 * @module
 */

import { App } from "../mod.ts";

const SERVE_FLAG = "--serve";

/** The server side, run in the subprocess. */
function serveForSoak(): void {
  const app = new App();
  app.get("/text", () => "Hello, soak!");
  app.get("/json", () => ({ message: "hello", items: [1, 2, 3] }));
  app.get("/user/:id", (c) => ({ id: c.params.id, name: c.query.get("name") }));
  app.post("/echo", async (c) => c.json(await c.req.json()));
  app.get("/async", async () => {
    await Promise.resolve();
    return { async: true };
  });
  const server = app.listen({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  });
  Deno.addSignalListener("SIGTERM", async () => {
    const before = server.stats();
    await server.shutdown();
    console.log(JSON.stringify({ stats: before, after: server.stats() }));
    Deno.exit(0);
  });
}

interface Options {
  requests: number;
  connections: number;
  roundSeconds: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    if (at < 0) return fallback;
    const n = Number(args[at + 1]);
    if (!Number.isInteger(n) || n <= 0) {
      throw new RangeError(
        `${name} must be a positive integer, got ${JSON.stringify(args[at + 1])}`,
      );
    }
    return n;
  };
  return {
    requests: value("--requests", 1_000_000),
    connections: value("--connections", 64),
    roundSeconds: value("--round", 5),
  };
}

const LUA = `
local paths = { "/text", "/json", "/user/42?name=soak", "/echo", "/async" }
local body = '{"hello":"world","n":[1,2,3]}'
local headers = { ["content-type"] = "application/json" }
local i = 0
request = function()
  i = i + 1
  local path = paths[(i % #paths) + 1]
  if path == "/echo" then
    return wrk.format("POST", path, headers, body)
  end
  return wrk.format("GET", path)
end
`;

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+) kB$/m);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

async function hasCommand(name: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", { args: ["-c", `command -v ${name}`] })
      .output();
    return success;
  } catch {
    return false;
  }
}

interface Round {
  requests: number;
  non2xx: number;
  socketErrors: number;
  seconds: number;
}

function parseWrk(out: string): Round {
  const total = out.match(/(\d+) requests in ([\d.]+)(m?s)/);
  if (!total) throw new Error(`cannot read wrk output:\n${out}`);
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const errors = out.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  );
  const socketErrors = errors ? errors.slice(1).reduce((n, v) => n + Number(v), 0) : 0;
  const seconds = Number(total[2]) / (total[3] === "ms" ? 1000 : 1);
  return { requests: Number(total[1]), non2xx, socketErrors, seconds };
}

/** Reads the child's stdout line by line. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let at;
    while ((at = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
    }
  }
  if (buffered) yield buffered;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function soak(options: Options): Promise<boolean> {
  if (!await hasCommand("wrk")) {
    console.error("soak: wrk is missing; install it with `apt-get install -y wrk`");
    return false;
  }
  const pin = await hasCommand("taskset");
  const self = new URL(import.meta.url).pathname;
  const deno = Deno.execPath();
  const serverArgs = ["run", "-A", self, SERVE_FLAG];
  const child = new Deno.Command(pin ? "taskset" : deno, {
    args: pin ? ["-c", "0", deno, ...serverArgs] : serverArgs,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = lines(child.stdout);
  const first = await out.next();
  if (first.done) throw new Error("the server exited before listening");
  const { port } = JSON.parse(first.value) as { port: number };
  const lua = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(lua, LUA);

  const samples: { t: number; rss: number; done: number }[] = [];
  let done = 0;
  const start = performance.now();
  const sample = () =>
    samples.push({ t: (performance.now() - start) / 1000, rss: rssKiB(child.pid), done });
  sample();
  const sampler = setInterval(sample, 1000);

  const rounds: Round[] = [];
  const wrkArgs = (seconds: number) => [
    "-t1",
    `-c${options.connections}`,
    `-d${seconds}s`,
    "-s",
    lua,
    `http://127.0.0.1:${port}`,
  ];
  // Rounds of wrk until the request count is reached; a bounded loop.
  for (let i = 0; i < 10_000 && done < options.requests; i++) {
    const result = await new Deno.Command(pin ? "taskset" : "wrk", {
      args: pin
        ? ["-c", "1", "wrk", ...wrkArgs(options.roundSeconds)]
        : wrkArgs(options.roundSeconds),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(result.stdout);
    const round = parseWrk(text);
    rounds.push(round);
    done += round.requests;
    console.log(
      `round ${i + 1}: ${round.requests} requests (${
        Math.round(round.requests / round.seconds)
      } req/s), non-2xx ${round.non2xx}, socket errors ${round.socketErrors}; total ${done}; RSS ${
        samples.at(-1)!.rss
      } KiB`,
    );
  }
  // A few idle seconds: memory a soak leaks does not come back when idle.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  sample();
  clearInterval(sampler);
  await Deno.remove(lua);

  child.kill("SIGTERM");
  let stats: Record<string, number> | undefined;
  let after: Record<string, number> | undefined;
  for await (const line of out) {
    if (line.startsWith('{"stats"')) ({ stats, after } = JSON.parse(line));
  }
  const status = await child.status;

  // Warm-up: until 10% of the requests were answered (at least 3 samples).
  const warmIndex = Math.max(3, samples.findIndex((s) => s.done >= options.requests * 0.1));
  const warm = samples.slice(warmIndex, warmIndex + 3).map((s) => s.rss);
  const tail = samples.slice(-3).map((s) => s.rss);
  const baseline = median(warm);
  const final = median(tail);
  const growth = (final - baseline) / baseline;
  const rss = samples.map((s) => s.rss);
  const non2xx = rounds.reduce((n, r) => n + r.non2xx, 0);
  const socketErrors = rounds.reduce((n, r) => n + r.socketErrors, 0);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  console.log(
    `\nrequests: ${done} in ${seconds.toFixed(1)} s of load (${
      Math.round(done / seconds)
    } req/s mean), ${options.connections} connections, ${rounds.length} wrk rounds`,
  );
  console.log(`non-2xx: ${non2xx}, socket errors: ${socketErrors}`);
  console.log(
    `RSS KiB: start ${rss[0]}, min ${Math.min(...rss)}, max ${Math.max(...rss)}, ` +
      `after warm-up ${baseline} (sample ${warmIndex}), end ${final}; ` +
      `growth after warm-up ${(growth * 100).toFixed(2)}% over ${samples.length} samples`,
  );
  console.log(`RSS series (KiB, 1/s): ${rss.join(" ")}`);
  console.log(`server stats at SIGTERM: ${JSON.stringify(stats)}`);
  console.log(
    `server exit code ${status.code}; after shutdown: slotsInUse ${after?.slotsInUse}, ` +
      `connections ${after?.connections}`,
  );

  const failures: string[] = [];
  if (growth >= 0.05) failures.push(`RSS grew ${(growth * 100).toFixed(2)}% after warm-up`);
  if (non2xx > 0) failures.push(`${non2xx} answers were not 2xx`);
  if (!stats) failures.push("the server printed no stats on SIGTERM");
  else if (stats.slotsInUse !== 0) failures.push(`slotsInUse is ${stats.slotsInUse} at the end`);
  if (status.code !== 0) failures.push(`the server exited with ${status.code}`);
  for (const failure of failures) console.error(`FAIL: ${failure}`);
  if (failures.length === 0) console.log("PASS");
  return failures.length === 0;
}

if (import.meta.main) {
  if (Deno.args.includes(SERVE_FLAG)) {
    serveForSoak();
  } else {
    const ok = await soak(parseOptions(Deno.args));
    Deno.exit(ok ? 0 : 1);
  }
}
