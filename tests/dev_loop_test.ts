// `deno run --watch` on a Ferry app (docs/dev_loop.md): Deno keeps the
// process and the native library and replaces the isolate, dispatching
// `unload` first. The reloaded module's server takes over the listening
// socket, so a client hammering the port through two edits sees every
// request answered, and the answers switch to the new code. The one loss:
// a request inside an old handler that had not answered (an await) when
// the reload came is answered 503 with Retry-After.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

const mod = new URL("../mod.ts", import.meta.url).href;

function source(version: string, port: number): string {
  return `import { App } from "${mod}";
const app = new App();
app.get("/", () => "${version}");
app.get("/slow", async () => {
  await new Promise((r) => setTimeout(r, 20_000));
  return "slow ${version}";
});
app.listen({ hostname: "127.0.0.1", port: ${port} });
console.log("listening ${version}");
`;
}

/** A port free right now (the watched app must ask for a fixed one). */
function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr as Deno.NetAddr;
  probe.close();
  return port;
}

/**
 * Runs `deno run --watch file` in `dir`, collecting its stdout and stderr;
 * `stop()` ends it and removes `dir`.
 */
function watch(dir: string, file: string): { output: string[]; stop: () => Promise<void> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--watch", file],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) output.push(text);
  };
  const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const stop = async () => {
    child.kill("SIGTERM");
    await child.status;
    await drained;
    await Deno.remove(dir, { recursive: true });
  };
  return { output, stop };
}

Deno.test("deno run --watch: every request succeeds across two edits and answers switch to the new code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry_watch_" });
  const file = `${dir}/app.ts`;
  const port = freePort();
  await Deno.writeTextFile(file, source("v1", port));
  const { output, stop } = watch(dir, file);
  const answers: string[] = [];
  const failures: string[] = [];
  const reloaded: string[] = [];
  try {
    // Bounded: 30 s for start-up and two reloads on a busy machine.
    const until = Date.now() + 30_000;
    const request = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        const body = await res.text();
        if (res.status === 200) answers.push(body);
        else if (
          res.status === 503 && res.headers.get("retry-after") === "1" &&
          body.includes("the module that owned this server was reloaded")
        ) reloaded.push(body);
        else failures.push(`${res.status} ${body}`);
      } catch (error) {
        failures.push(`${error} ${(error as Error).cause ?? ""}`);
      }
    };
    // Start-up: wait for the first answer (refused connections before the
    // first bind do not count).
    while (Date.now() < until && !output.join("").includes("listening v1")) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(output.join("").includes("listening v1"), output.join(""));
    for (const next of ["v2", "v3"]) {
      await Deno.writeTextFile(file, source(next, port));
      // Two clients at once, through the reload, until the new code answers.
      let written = Date.now();
      while (Date.now() < until && !answers.includes(next)) {
        await Promise.all([request(), request()]);
        // A change made while the watcher (re)starts can go unseen: touch
        // the file again now and then.
        if (Date.now() - written > 3000) {
          await Deno.writeTextFile(file, source(next, port));
          written = Date.now();
        }
      }
      for (let i = 0; i < 20; i++) await request();
    }
  } finally {
    await stop();
  }
  // No refused or broken connection, no other error status.
  assertEquals(failures, [], output.join(""));
  // Handlers here are synchronous: what the old code had queued it answered
  // on its way out, so not even a 503.
  assertEquals(reloaded, []);
  // Each version answered, in order, and the last answers are the last code.
  const seen = answers.filter((a, i) => a !== answers[i - 1]);
  assertEquals(seen, ["v1", "v2", "v3"], output.join(""));
  assert(!output.join("").includes("Address already in use"), output.join(""));
});

Deno.test("deno run --watch: a request inside an old async handler gets 503 with Retry-After", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry_watch_" });
  const file = `${dir}/app.ts`;
  const port = freePort();
  await Deno.writeTextFile(file, source("v1", port));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--watch", file],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  const waitFor = async (text: string) => {
    while (!output.includes(text)) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`child ended before "${text}":\n${output}`);
      output += value;
    }
  };
  try {
    await waitFor("listening v1");
    const slow = fetch(`http://127.0.0.1:${port}/slow`);
    // Let the request reach the old handler, then reload.
    await new Promise((r) => setTimeout(r, 300));
    let answered = false;
    slow.finally(() => answered = true).catch(() => {});
    // Touch it again now and then: a change can go unseen by a watcher
    // that is (re)starting.
    for (let i = 0; i < 6 && !answered; i++) {
      await Deno.writeTextFile(file, source("v2", port));
      for (let t = 0; t < 30 && !answered; t++) await new Promise((r) => setTimeout(r, 100));
    }
    const res = await slow;
    assertEquals(res.status, 503);
    assertEquals(res.headers.get("retry-after"), "1");
    assert((await res.text()).includes("the module that owned this server was reloaded"));
    await waitFor("listening v2");
    assertEquals(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "v2");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await lines.cancel();
    await Deno.remove(dir, { recursive: true });
  }
});

function wsSource(version: string, port: number): string {
  return `import { App } from "${mod}";
const app = new App();
app.ws("/ws", { open(ws) { ws.send("${version}"); } });
app.listen({ hostname: "127.0.0.1", port: ${port} });
console.log("listening ${version}");
`;
}

/** Opens a WebSocket and resolves with its first message, or rejects. */
function firstMessage(url: string): Promise<{ socket: WebSocket; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.onmessage = (e) => resolve({ socket, text: String(e.data) });
    socket.onerror = () => reject(new Error("no socket"));
  });
}

Deno.test("deno run --watch: open WebSockets close with 1001 on a reload, and reconnect to the new code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry_watch_ws_" });
  const file = `${dir}/app.ts`;
  const port = freePort();
  await Deno.writeTextFile(file, wsSource("v1", port));
  const { output, stop } = watch(dir, file);
  const url = `ws://127.0.0.1:${port}/ws`;
  try {
    const until = Date.now() + 30_000;
    while (Date.now() < until && !output.join("").includes("listening v1")) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const first = await firstMessage(url);
    assertEquals(first.text, "v1");
    const closed = new Promise<CloseEvent>((resolve) => first.socket.onclose = resolve);
    await Deno.writeTextFile(file, wsSource("v2", port));
    let event: CloseEvent | undefined;
    let written = Date.now();
    while (Date.now() < until && event === undefined) {
      event = await Promise.race([
        closed,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
      ]);
      if (event === undefined && Date.now() - written > 3000) {
        await Deno.writeTextFile(file, wsSource("v2", port));
        written = Date.now();
      }
    }
    assertEquals([event?.code, event?.reason], [1001, "the server is reloading"], output.join(""));
    let again: string | undefined;
    while (Date.now() < until && again !== "v2") {
      try {
        const next = await firstMessage(url);
        again = next.text;
        next.socket.close();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assertEquals(again, "v2", output.join(""));
  } finally {
    await stop();
  }
});
