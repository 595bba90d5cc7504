/**
 * Options for `app.static()`.
 *
 * @example
 * ```ts
 * import type { StaticOptions } from "@ferry/ferry";
 * const options: StaticOptions = { cacheControl: "public, max-age=60" };
 * ```
 */
export interface StaticOptions {
  /** `Cache-Control` header sent with every file. @default undefined (none) */
  cacheControl?: string;
}

/** The mount as sent to Rust. */
export function staticMount(
  prefix: string,
  dir: string,
  options: StaticOptions,
): Record<string, unknown> {
  if (!prefix.startsWith("/")) {
    throw new TypeError(`app.static() prefix "${prefix}" must start with "/"`);
  }
  let resolved = dir;
  try {
    resolved = Deno.realPathSync(dir);
  } catch (error) {
    throw new TypeError(`app.static() directory "${dir}" cannot be read: ${error}`);
  }
  return { prefix: prefix.replace(/\/+$/, ""), dir: resolved, ...options };
}
