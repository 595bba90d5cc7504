/**
 * Installs Ferry's native library ahead of time, into the per-user cache
 * (`FERRY_CACHE_DIR`, else `$XDG_CACHE_HOME/ferry` or `~/.cache/ferry` on
 * Linux, `~/Library/Caches/ferry` on macOS, `%LOCALAPPDATA%\ferry\cache` on
 * Windows): the prebuilt library of this version and target, checked
 * against the SHA-256 manifest inside the package, else a build from the
 * package's Rust sources when `cargo` is on PATH. `app.listen()` does the
 * same on first use; run this in a Dockerfile or CI step to do it early.
 *
 * @example
 * ```sh
 * deno run -A jsr:@ferry/ferry/install          # prints the library's path
 * deno run -A jsr:@ferry/ferry/install --force  # replaces a cached library
 * ```
 *
 * @module
 */
import { install } from "./lib/_install.ts";

export { install, type InstallOptions } from "./lib/_install.ts";

if (import.meta.main) {
  try {
    console.log(await install({ force: Deno.args.includes("--force") }));
  } catch (error) {
    // Started by app.listen() (lib/_library.ts), which throws the summary
    // itself: each step's reason is already on stderr.
    if (!Deno.args.includes("--for-listen")) console.error((error as Error).message);
    Deno.exit(1);
  }
}
