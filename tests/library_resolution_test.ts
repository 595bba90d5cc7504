// How a package user gets the native library (lib/_library.ts,
// lib/_install.ts): a loopback server plays the package registry (it serves
// this repository's files) and another plays the release location. Each
// case is a child Deno with an empty DENO_DIR and an empty FERRY_CACHE_DIR
// that imports http://127.0.0.1:PORT/mod.ts and serves one request.
//
// The build-from-source case runs a cargo build of the crate into
// ffi/target/from-source (a full build the first time, ~20–30 s after);
// it runs only with FERRY_SLOW_TESTS=1 (.ci/run sets it).

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import manifest from "../lib/_manifest.json" with { type: "json" };
import { libraryFileName } from "../lib/_library.ts";
import { sha256 } from "../lib/_install.ts";
import { ABI_VERSION } from "../lib/_symbols.ts";

const root = new URL("../", import.meta.url);
const built = new URL(`ffi/target/release/${libraryFileName()}`, root);
const target = Deno.build.target;
const releaseFile = libraryFileName().replace(/(\.[a-z]+)$/, `-${target}$1`);

/** Serves the repository's files; the manifest's checksum can be replaced. */
function packageServer(sha: string) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..") || path.startsWith("/ffi/target")) {
      return new Response("no", { status: 404 });
    }
    if (path === "/lib/_manifest.json") {
      // The release this test plays: this checkout's build for this target.
      const release = {
        ...manifest,
        targets: { [target]: { file: releaseFile, sha256: sha } },
      };
      return Response.json(release);
    }
    try {
      const type = path.endsWith(".json") ? "application/json" : "application/typescript";
      return new Response(await Deno.readFile(new URL(`.${path}`, root)), {
        headers: {
          "content-type": path.endsWith(".ts") || path.endsWith(".json") ? type : "text/plain",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

/** Serves `bytes` as the release file; any other path is a 404. */
function releaseServer(bytes: Uint8Array) {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new URL(req.url).pathname === `/v/${releaseFile}`
        ? new Response(bytes as BodyInit)
        : new Response("not found", { status: 404 }),
  );
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  cache: string;
}

/** A child Deno that imports the served mod.ts and serves one request. */
async function runApp(
  pkgPort: number,
  env: Record<string, string>,
): Promise<Run> {
  const dir = await Deno.makeTempDir({ prefix: "ferry_resolution_" });
  const cache = `${dir}/ferry-cache`;
  const app = `${dir}/app.ts`;
  await Deno.writeTextFile(
    app,
    `import { App } from "http://127.0.0.1:${pkgPort}/mod.ts";
const app = new App();
app.get("/", () => "hello from a package user");
const server = app.listen({ hostname: "127.0.0.1", port: 0 });
const res = await fetch(\`http://127.0.0.1:\${server.addr.port}/\`);
console.log(await res.text());
await server.shutdown();
`,
  );
  const home = Deno.env.get("HOME") ?? dir;
  // The module cache starts empty, but npm packages mod.ts imports (TypeBox
  // for `t`) come from this machine's npm cache: the case is about the
  // native library, and a test machine may have no route to the registry.
  await Deno.mkdir(`${dir}/deno`, { recursive: true });
  const npm = await npmCache();
  if (npm !== undefined) await Deno.symlink(npm, `${dir}/deno/npm`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", app],
    cwd: dir,
    clearEnv: true,
    env: {
      HOME: `${dir}/home`,
      DENO_DIR: `${dir}/deno`,
      FERRY_CACHE_DIR: cache,
      NO_COLOR: "1",
      // rustup finds its toolchains under the real HOME.
      RUSTUP_HOME: Deno.env.get("RUSTUP_HOME") ?? `${home}/.rustup`,
      CARGO_HOME: Deno.env.get("CARGO_HOME") ?? `${home}/.cargo`,
      PATH: dir, // no cargo, unless a case passes its own PATH
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    cache,
  };
  return result;
}

/** This Deno's npm cache directory (`deno info`), if it has one. */
async function npmCache(): Promise<string | undefined> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  if (!out.success) return undefined;
  const dir = JSON.parse(new TextDecoder().decode(out.stdout)).npmCache;
  return typeof dir === "string" ? dir : undefined;
}

function cachedLibrary(cache: string): string {
  return `${cache}/${manifest.version}/abi${ABI_VERSION}/${target}/${libraryFileName()}`;
}

Deno.test("lib/_manifest.json lists every crate source and this ABI (run `deno task release`)", () => {
  const files: string[] = ["ffi/Cargo.lock", "ffi/Cargo.toml", "ffi/build.rs"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, root))) {
      if (entry.isDirectory) walk(`${dir}${entry.name}/`);
      else if (entry.name.endsWith(".rs")) files.push(`${dir}${entry.name}`);
    }
  };
  walk("ffi/src/");
  assertEquals(manifest.sources, files.sort());
  assertEquals(manifest.abi, ABI_VERSION);
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root)));
  assertEquals(manifest.version, config.version);
});

Deno.test("a remote import downloads the prebuilt library, checks its SHA-256 and serves", async () => {
  const bytes = await Deno.readFile(built);
  await using pkg = packageServer(await sha256(bytes));
  await using release = releaseServer(bytes);
  const run = await runApp(pkg.addr.port, {
    FERRY_BINARY_URL: `http://127.0.0.1:${release.addr.port}/v`,
  });
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stdout.trim(), "hello from a package user");
  assert(run.stderr.includes(`downloading ${releaseFile}`), run.stderr);
  assertEquals(await sha256(await Deno.readFile(cachedLibrary(run.cache))), await sha256(bytes));
});

Deno.test("a remote import refuses a download whose SHA-256 does not match", async () => {
  const bytes = await Deno.readFile(built);
  const corrupted = bytes.slice();
  corrupted[corrupted.length >> 1] ^= 0xff;
  await using pkg = packageServer(await sha256(bytes));
  await using release = releaseServer(corrupted);
  const run = await runApp(pkg.addr.port, {
    FERRY_BINARY_URL: `http://127.0.0.1:${release.addr.port}/v`,
  });
  assert(run.code !== 0, run.stdout);
  assert(/refusing http:\/\/127\.0\.0\.1:\d+\/v\/\S+: its SHA-256 is/.test(run.stderr), run.stderr);
  assert(run.stderr.includes("corrupted or tampered"), run.stderr);
  let cached = true;
  try {
    Deno.statSync(cachedLibrary(run.cache));
  } catch {
    cached = false;
  }
  assertEquals(cached, false);
});

Deno.test("with no download and no cargo, a remote import names all three fixes", async () => {
  await using pkg = packageServer("0".repeat(64));
  await using release = releaseServer(new Uint8Array());
  const run = await runApp(pkg.addr.port, {
    FERRY_BINARY_URL: `http://127.0.0.1:${release.addr.port}/missing`,
  });
  assert(run.code !== 0, run.stdout);
  assert(run.stderr.includes("HTTP 404"), run.stderr);
  assert(run.stderr.includes("cargo was not found on PATH"), run.stderr);
  for (
    const fix of ["(1) set FERRY_LIB", "(2) let Ferry download", "(3) install a Rust toolchain"]
  ) {
    assert(run.stderr.includes(fix), `missing ${fix}:\n${run.stderr}`);
  }
});

Deno.test({
  name: "with no download, a remote import builds the library from its sources with cargo",
  ignore: Deno.env.get("FERRY_SLOW_TESTS") !== "1",
  async fn() {
    await using pkg = packageServer("0".repeat(64));
    await using release = releaseServer(new Uint8Array());
    const run = await runApp(pkg.addr.port, {
      FERRY_BINARY_URL: `http://127.0.0.1:${release.addr.port}/missing`,
      PATH: Deno.env.get("PATH") ?? "",
      // Its own target dir, kept between runs (so only the first is a full
      // build). Not ffi/target: a cdylib's deps/libferry.so has no hash in
      // its name, so that build would rewrite the file this test process
      // has mapped (a crash later in the suite).
      CARGO_TARGET_DIR: decodeURIComponent(new URL("ffi/target/from-source", root).pathname),
    });
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.stdout.trim(), "hello from a package user");
    assert(run.stderr.includes("fetching the Rust sources"), run.stderr);
    assert(run.stderr.includes("building the native library from source"), run.stderr);
    Deno.statSync(cachedLibrary(run.cache));
  },
});
