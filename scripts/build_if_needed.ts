// Builds the native library when it is missing or older than its sources,
// so `deno task serve` and `deno task test` work on a fresh checkout.
// Needs a Rust toolchain (cargo) on PATH.

const root = new URL("../", import.meta.url);
const lib = new URL(
  `ffi/target/release/${
    Deno.build.os === "darwin"
      ? "libferry.dylib"
      : Deno.build.os === "windows"
      ? "ferry.dll"
      : "libferry.so"
  }`,
  root,
);

function mtime(url: URL): number {
  try {
    return Deno.statSync(url).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

function newestSource(dir: URL): number {
  let newest = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    newest = Math.max(newest, entry.isDirectory ? newestSource(url) : mtime(url));
  }
  return newest;
}

const built = mtime(lib);
const sources = Math.max(
  newestSource(new URL("ffi/src/", root)),
  mtime(new URL("ffi/Cargo.toml", root)),
  mtime(new URL("ffi/Cargo.lock", root)),
  mtime(new URL("ffi/build.rs", root)),
);
if (built === 0 || sources > built) {
  console.error("ferry: building the native library (cargo build --release)…");
  let status: Deno.CommandStatus;
  try {
    status = await new Deno.Command("cargo", {
      args: ["build", "--release"],
      cwd: new URL("ffi/", root),
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      console.error(
        "ferry: cargo was not found. Install a Rust toolchain (https://rustup.rs) and retry.",
      );
      Deno.exit(1);
    }
    throw error;
  }
  if (!status.success) Deno.exit(status.code || 1);
}
