// Where the native library comes from, in order (docs/install.md):
//   1. FERRY_LIB, a path the user chose;
//   2. the cargo build output beside this module (a local checkout);
//   3. the per-user cache, keyed by Ferry version, ABI and target;
//   4. else an install into that cache (lib/_install.ts): a prebuilt
//      library checked against lib/_manifest.json, or a build from the
//      Rust sources that ship in the package.
// Everything here is synchronous because `app.listen()` is: step 4 runs
// install.ts in a child Deno process and waits for it.

import manifest from "./_manifest.json" with { type: "json" };
import { ABI_VERSION } from "./_symbols.ts";

/** The library's file name on this OS. */
export function libraryFileName(os: typeof Deno.build.os = Deno.build.os): string {
  switch (os) {
    case "darwin":
      return "libferry.dylib";
    case "windows":
      return "ferry.dll";
    default:
      return "libferry.so";
  }
}

/** Reads an environment variable without prompting; unset when not granted. */
export function env(name: string): string | undefined {
  const status = Deno.permissions.querySync?.({ name: "env", variable: name });
  if (status && status.state !== "granted") return undefined;
  return Deno.env.get(name) || undefined;
}

/** The platform's per-user cache directory for Ferry, or undefined. */
export function cacheRoot(): string | undefined {
  const own = env("FERRY_CACHE_DIR");
  if (own) return own;
  const home = env("HOME") ?? env("USERPROFILE");
  switch (Deno.build.os) {
    case "darwin":
      return home && `${home}/Library/Caches/ferry`;
    case "windows": {
      const local = env("LOCALAPPDATA");
      return local && `${local}\\ferry\\cache`;
    }
    default: {
      const xdg = env("XDG_CACHE_HOME");
      return xdg ? `${xdg}/ferry` : home && `${home}/.cache/ferry`;
    }
  }
}

/** The cache directory of this Ferry version, ABI and target. */
export function cacheDir(root = cacheRoot()): string | undefined {
  return root && join(root, manifest.version, `abi${ABI_VERSION}`, Deno.build.target);
}

/** The cached library's path (it may not exist yet). */
export function cachedLibrary(root = cacheRoot()): string | undefined {
  const dir = cacheDir(root);
  return dir && join(dir, libraryFileName());
}

/** The cargo build output beside this module, when the module is a local file. */
export function checkoutLibrary(): string | undefined {
  const url = new URL(`../ffi/target/release/${libraryFileName()}`, import.meta.url);
  return url.protocol === "file:" ? fromFileUrl(url) : undefined;
}

/** Where the library is now, following the order above; undefined if nowhere. */
export function locateLibrary(): string | undefined {
  const chosen = env("FERRY_LIB");
  if (chosen) return chosen;
  for (const path of [checkoutLibrary(), cachedLibrary()]) {
    if (path && isFile(path)) return path;
  }
  return undefined;
}

/**
 * Finds the library, installing it into the cache first when it is nowhere
 * (a child `deno run` of install.ts, whose progress goes to our stderr).
 * Throws one error that names every fix when that fails too.
 */
export function resolveLibrary(): string {
  const found = locateLibrary();
  if (found) return found;
  const installer = new URL("../install.ts", import.meta.url).href;
  let ok = false;
  try {
    // Only what the installer needs: read the cache, write into it, fetch
    // the release and the sources, run cargo.
    const status = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-lock",
        "--no-config",
        "--allow-import",
        "--allow-env",
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-run",
        installer,
        "--for-listen",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).outputSync();
    ok = status.success;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    throw new Error(
      `Ferry's native library is not installed and Ferry may not run its installer (--allow-run). ${fixes()}`,
      { cause: error },
    );
  }
  const installed = locateLibrary();
  if (ok && installed) return installed;
  throw new Error(`Ferry could not install its native library. ${fixes()}`);
}

/** The three ways out, in one sentence each. */
export function fixes(): string {
  const cache = cachedLibrary() ?? "the Ferry cache";
  return [
    "Fix it in one of three ways:",
    `(1) set FERRY_LIB to the path of a ${libraryFileName()} you built or downloaded;`,
    `(2) let Ferry download its prebuilt library: allow network access to ${releaseBase()} ` +
    "(or set FERRY_BINARY_URL to a mirror) and run `deno run -A jsr:@ferry/ferry/install`;",
    "(3) install a Rust toolchain (https://rustup.rs) so `cargo` is on PATH, and Ferry builds " +
    `the library from its sources into ${cache}.`,
  ].join(" ");
}

/** The release base URL: FERRY_BINARY_URL, else this version's GitHub release. */
export function releaseBase(): string {
  return env("FERRY_BINARY_URL") ?? manifest.release.replace("{version}", manifest.version);
}

/** Joins path parts with the OS separator. */
export function join(...parts: string[]): string {
  const sep = Deno.build.os === "windows" ? "\\" : "/";
  return parts.join(sep);
}

/** A file: URL as an OS path. */
export function fromFileUrl(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  // file:///C:/x → C:\x on Windows.
  return Deno.build.os === "windows"
    ? path.replace(/^\/([A-Za-z]:)/, "$1").replaceAll("/", "\\")
    : path;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
