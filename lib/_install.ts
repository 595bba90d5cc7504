// Puts the native library into the per-user cache (lib/_library.ts says
// where): first a prebuilt library from the release, accepted only when
// its SHA-256 matches lib/_manifest.json, which ships inside the package;
// else, when cargo is present, a build from the Rust sources that ship in
// the package (fetched from this module's own URLs when it is remote).

import manifest from "./_manifest.json" with { type: "json" };
import {
  cacheDir,
  cachedLibrary,
  env,
  fixes,
  fromFileUrl,
  join,
  libraryFileName,
  releaseBase,
} from "./_library.ts";
import { Progress } from "./_progress.ts";

/** Options of {@linkcode install}. */
export interface InstallOptions {
  /**
   * Replace a library already in the cache.
   * @default false
   */
  force?: boolean;
}

/**
 * Installs Ferry's native library into the per-user cache and returns its
 * path: the prebuilt library of this version and target (checked against
 * the package's SHA-256 manifest), else a build from source with cargo.
 *
 * @example
 * ```ts ignore
 * import { install } from "@ferry/ferry/install";
 * console.log(await install()); // ~/.cache/ferry/0.1.0/abi8/x86_64-unknown-linux-gnu/libferry.so
 * ```
 */
export async function install(options: InstallOptions = {}): Promise<string> {
  const dest = cachedLibrary();
  const dir = cacheDir();
  if (!dest || !dir) {
    throw new Error(`Ferry found no cache directory: set FERRY_CACHE_DIR. ${fixes()}`);
  }
  if (!options.force && exists(dest)) return dest;
  await Deno.mkdir(dir, { recursive: true });
  const reasons: string[] = [];
  for (const step of [download, build]) {
    try {
      await place(await step(dir), dest);
      return dest;
    } catch (error) {
      const reason = (error as Error).message;
      reasons.push(reason);
      console.error(`ferry: ${reason}`);
    }
  }
  throw new Error(`Ferry could not install its native library: ${reasons.join("; ")}. ${fixes()}`);
}

/** Downloads and verifies the prebuilt library; returns its bytes. */
async function download(): Promise<Uint8Array> {
  const targets: Record<string, { file: string; sha256: string }> = manifest.targets;
  const entry = targets[Deno.build.target];
  if (!entry) throw new Error(`no prebuilt library for ${Deno.build.target} in this release`);
  const url = `${releaseBase().replace(/\/$/, "")}/${entry.file}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (error) {
    throw new Error(`downloading ${url} failed: ${(error as Error).message}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`downloading ${url} failed: HTTP ${res.status}`);
  }
  const total = Number(res.headers.get("content-length") ?? 0);
  const bar = new Progress(`downloading ${entry.file}`, total);
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    received += chunk.length;
    bar.update(received);
  }
  bar.done();
  const bytes = concat(chunks, received);
  const actual = await sha256(bytes);
  if (actual !== entry.sha256) {
    throw new Error(
      `refusing ${url}: its SHA-256 is ${actual}, the package's manifest expects ${entry.sha256} (a corrupted or tampered download)`,
    );
  }
  return bytes;
}

/** Builds the library from the package's Rust sources; returns its bytes. */
async function build(dir: string): Promise<Uint8Array> {
  if (!(await hasCargo())) throw new Error("cargo was not found on PATH, so no build from source");
  const crate = new URL("../ffi/", import.meta.url);
  // A local checkout builds in place; a remote package first copies its
  // sources (listed in the manifest) into the cache.
  const local = crate.protocol === "file:";
  const manifestPath = local
    ? fromFileUrl(new URL("Cargo.toml", crate))
    : await fetchSources(join(dir, "src"));
  const targetDir = env("CARGO_TARGET_DIR") ??
    (local ? fromFileUrl(new URL("target", crate)) : join(dir, "target"));
  console.error(`ferry: building the native library from source (cargo build --release)…`);
  const status = await new Deno.Command("cargo", {
    args: ["build", "--release", "--locked", "--manifest-path", manifestPath],
    env: { CARGO_TARGET_DIR: targetDir },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) throw new Error(`cargo build failed (exit ${status.code})`);
  return await Deno.readFile(join(targetDir, "release", libraryFileName()));
}

/** Fetches the crate's files beside this module into `into`; returns Cargo.toml's path. */
async function fetchSources(into: string): Promise<string> {
  const bar = new Progress("fetching the Rust sources", manifest.sources.length);
  let done = 0;
  for (const path of manifest.sources) {
    const url = new URL(`../${path}`, import.meta.url);
    const res = await fetch(url);
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`fetching ${url.href} failed: HTTP ${res.status}`);
    }
    const file = join(into, ...path.split("/"));
    await Deno.mkdir(file.slice(0, file.lastIndexOf(Deno.build.os === "windows" ? "\\" : "/")), {
      recursive: true,
    });
    await Deno.writeFile(file, new Uint8Array(await res.arrayBuffer()));
    bar.update(++done);
  }
  bar.done();
  return join(into, "ffi", "Cargo.toml");
}

/** Writes the library beside `dest`, then renames it into place (atomic). */
async function place(bytes: Uint8Array, dest: string): Promise<void> {
  const temp = `${dest}.${Deno.pid}.tmp`;
  await Deno.writeFile(temp, bytes, { mode: 0o755 });
  await Deno.rename(temp, dest);
}

async function hasCargo(): Promise<boolean> {
  try {
    return (await new Deno.Command("cargo", { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

/** Lower-case hex SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
