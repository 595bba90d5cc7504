// The one module that calls Deno.dlopen. It finds the library without
// absolute paths (lib/_library.ts: FERRY_LIB, the cargo build output beside
// this module, the per-user cache, an install into it), checks the ABI
// version, and turns every failure into a message that names the fix.

import { resolveLibrary } from "./_library.ts";
import { ABI_VERSION, type Native, symbols } from "./_symbols.ts";

let loaded: Native | undefined;

/**
 * Where the native library is: `FERRY_LIB`, the build output beside this
 * module, the per-user cache, else installed there first (lib/_library.ts).
 */
export function libraryPath(): string {
  return resolveLibrary();
}

/** Opens the native library once and returns its symbols. */
export function native(): Native {
  if (loaded) return loaded;
  const path = libraryPath();
  let lib: Deno.DynamicLibrary<typeof symbols>;
  try {
    lib = Deno.dlopen(path, symbols);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new Error(
        "Ferry needs FFI permission to load its native core: run with --allow-ffi (or -A).",
        { cause: error },
      );
    }
    const text = String((error as Error)?.message ?? error);
    if (/No such file|cannot open|not found|could not find/i.test(text)) {
      throw new Error(
        `Ferry's native library was not found at ${path}. Build it with \`deno task build\`, or set FERRY_LIB to its path.`,
        { cause: error },
      );
    }
    throw new Error(
      `Ferry could not load its native library at ${path}: ${text}. Rebuild it with \`deno task build\`.`,
      { cause: error },
    );
  }
  const version = lib.symbols.ferry_abi_version();
  if (version !== ABI_VERSION) {
    lib.close();
    throw new Error(
      `Ferry's native library at ${path} is stale (ABI ${version}, expected ${ABI_VERSION}). Rebuild it with \`deno task build\`.`,
    );
  }
  loaded = lib.symbols;
  return loaded;
}

/** The calling thread's last native error message. */
export function lastError(lib: Native): string {
  const buf = new Uint8Array(1024);
  const n = lib.ferry_last_error(buf, buf.length);
  return new TextDecoder().decode(buf.subarray(0, Math.max(0, Math.min(n, buf.length))));
}
