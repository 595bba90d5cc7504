/**
 * Starting and stopping one peer server: pinned to CPU 0 with `taskset`, the
 * port passed in `PORT`, ready once the port accepts a connection.
 *
 * @module
 */

/** A running peer server process. */
export interface RunningServer {
  /** Process id of the server itself (`taskset` execs, so it is the server). */
  pid: number;
  /** Port it listens on (127.0.0.1). */
  port: number;
  /** The last few KiB the server wrote to stdout and stderr. */
  output(): string;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/** How to start a server. */
export interface StartOptions {
  /** Command and arguments, without the `taskset` prefix. */
  cmd: string[];
  /** Working directory. */
  cwd: string;
  /** Port passed in env `PORT`. */
  port: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** CPU list for `taskset -c`; `null` runs unpinned. @default "0" */
  cpus?: string | null;
  /** How long to wait for the port to answer, in ms. @default 30000 */
  timeoutMs?: number;
}

const TAIL_BYTES = 4096;

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export async function portAnswers(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** The last `TAIL_BYTES` a server wrote, kept as bytes until asked for. */
class Tail {
  #chunks: Uint8Array[] = [];
  #bytes = 0;

  push(chunk: Uint8Array): void {
    // No decoding per chunk: a server with an access log writes megabytes
    // a second, and the runner shares the machine with it.
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#chunks.length > 1 && this.#bytes - this.#chunks[0].length >= TAIL_BYTES) {
      this.#bytes -= this.#chunks.shift()!.length;
    }
  }

  text(): string {
    const all = new Uint8Array(this.#bytes);
    let at = 0;
    for (const chunk of this.#chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return new TextDecoder().decode(all.subarray(Math.max(0, all.length - TAIL_BYTES)));
  }
}

async function drain(stream: ReadableStream<Uint8Array>, tail: Tail): Promise<void> {
  try {
    for await (const chunk of stream) tail.push(chunk);
  } catch {
    // The process went away; keep what we have.
  }
}

/**
 * Starts a server and waits until its port answers. Throws an `Error` whose
 * message is the reason (port busy, early exit with its output, timeout).
 */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  if (await portAnswers(opts.port)) {
    throw new Error(`port ${opts.port} is already in use`);
  }
  const cpus = opts.cpus === undefined ? "0" : opts.cpus;
  const argv = cpus === null ? opts.cmd : ["taskset", "-c", cpus, ...opts.cmd];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    env: { ...opts.env, PORT: String(opts.port) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // One tail for both streams, in arrival order.
  const tail = new Tail();
  const drained = Promise.all([
    drain(child.stdout, tail),
    drain(child.stderr, tail),
  ]);
  let exited: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => (exited = s));

  const server: RunningServer = {
    pid: child.pid,
    port: opts.port,
    output: () => tail.text().trim(),
    async stop() {
      if (exited === null) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Already gone.
          }
        }, 3000);
        await status;
        clearTimeout(timer);
      }
      await drained;
    },
  };

  const timeoutMs = opts.timeoutMs ?? 30000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) {
      await drained;
      const code = (exited as Deno.CommandStatus).code;
      const out = tail.text().trim().split("\n").slice(-6).join(" | ");
      throw new Error(`exited with code ${code} before listening: ${out}`);
    }
    if (await portAnswers(opts.port)) return server;
    await new Promise((r) => setTimeout(r, 50));
  }
  await server.stop();
  throw new Error(`port ${opts.port} did not answer within ${timeoutMs} ms`);
}
