// Static mounts: checked here once, then served by Rust with no crossing
// per request (ffi/src/statics/).

/**
 * Options for `app.static()`. Files are served by Rust: MIME types,
 * `ETag`/`Last-Modified` with 304s, single byte ranges (206/416), HEAD,
 * directory indexes and precompressed siblings.
 *
 * Paths that try to leave the directory (`..`, `%2e%2e`, `%2f`, `\`, NUL),
 * symlinks that resolve outside it, and hidden files (unless allowed)
 * answer 404, like a missing file. A directory asked for without its
 * trailing slash is redirected (301) to the slash form when it has an index.
 * Methods other than GET and HEAD answer 405 (OPTIONS: 204), with
 * `Allow: GET, HEAD`.
 *
 * Files up to 1 MiB are kept in memory once unchanged for a second; each
 * request still stats the file, so an edited or deleted file is served
 * fresh (or 404) at once. A new precompressed sibling or index file may
 * take up to a second to be noticed.
 *
 * @example
 * ```ts
 * import type { StaticOptions } from "@ferry/ferry";
 * const options: StaticOptions = {
 *   cacheControl: "public, max-age=60",
 *   dotfiles: "allow",
 * };
 * ```
 */
export interface StaticOptions {
  /**
   * `Cache-Control` header sent with files, 206s and 304s.
   *
   * @default undefined (none)
   * @example "public, max-age=31536000, immutable"
   */
  cacheControl?: string;
  /**
   * File served for a directory, or `false` to serve none.
   *
   * @default "index.html"
   * @example "index.htm"
   */
  index?: string | false;
  /**
   * Hidden files (a path segment starting with `.`): `"ignore"` answers
   * 404, `"allow"` serves them.
   *
   * @default "ignore"
   * @example "allow"
   */
  dotfiles?: "ignore" | "allow";
  /**
   * Serve `name.br` / `name.gz` instead of `name` to clients whose
   * `Accept-Encoding` takes them (with `Content-Encoding` and
   * `Vary: Accept-Encoding`).
   *
   * @default true
   * @example false
   */
  precompressed?: boolean;
  /**
   * Send `ETag` (from size and modification time) and answer a matching
   * `If-None-Match` with 304. `Last-Modified` is always sent.
   *
   * @default true
   * @example false
   */
  etags?: boolean;
  /**
   * Let requests the mount has no file for (and methods other than GET and
   * HEAD) go on to the routes, instead of answering 404/405. Useful for a
   * mount at `/` beside API routes.
   *
   * @default false
   * @example true
   */
  fallthrough?: boolean;
}

/** A static mount as sent to Rust (`StaticMount` in ffi/src/statics/mod.rs). */
export type StaticMountConfig = {
  prefix: string;
  dir: string;
  cacheControl: string | null;
  index: string | null;
  dotfiles: "ignore" | "allow";
  precompressed: boolean;
  etags: boolean;
  fallthrough: boolean;
};

function flag(
  options: StaticOptions,
  name: "precompressed" | "etags" | "fallthrough",
  fallback: boolean,
) {
  const value = options[name] ?? fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(`app.static() option ${name} must be a boolean, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a mount and resolves its directory (following symlinks once, here),
 * so Rust gets a real path.
 *
 * @example
 * ```ts
 * import { staticMount } from "./static.ts";
 * const mount = staticMount("/assets/", ".", { cacheControl: "no-cache" });
 * console.assert(mount.prefix === "/assets");
 * ```
 */
export function staticMount(
  prefix: string,
  dir: string,
  options: StaticOptions = {},
): StaticMountConfig {
  if (typeof prefix !== "string" || !prefix.startsWith("/")) {
    throw new TypeError(`app.static() prefix "${prefix}" must start with "/"`);
  }
  if (prefix.includes("?") || prefix.includes("#")) {
    throw new TypeError(`app.static() prefix "${prefix}" must be a plain path`);
  }
  let resolved: string;
  try {
    resolved = Deno.realPathSync(dir);
    if (!Deno.statSync(resolved).isDirectory) throw new Error("not a directory");
  } catch (error) {
    throw new TypeError(`app.static() directory "${dir}" cannot be served: ${error}`);
  }
  const { cacheControl, index = "index.html", dotfiles = "ignore" } = options;
  if (
    cacheControl !== undefined &&
    (typeof cacheControl !== "string" || /[\r\n\0]/.test(cacheControl))
  ) {
    throw new TypeError(
      `app.static() option cacheControl "${cacheControl}" is not a valid header value`,
    );
  }
  if (
    index !== false &&
    (typeof index !== "string" || !/^[^/\\\0]+$/.test(index) || /^\.\.?$/.test(index))
  ) {
    throw new TypeError(
      `app.static() option index "${String(index)}" must be a file name or false`,
    );
  }
  if (dotfiles !== "ignore" && dotfiles !== "allow") {
    throw new TypeError(`app.static() option dotfiles "${dotfiles}" must be "ignore" or "allow"`);
  }
  return {
    prefix: prefix.replace(/\/+$/, ""),
    dir: resolved,
    cacheControl: cacheControl ?? null,
    index: index === false ? null : index,
    dotfiles,
    precompressed: flag(options, "precompressed", true),
    etags: flag(options, "etags", true),
    fallthrough: flag(options, "fallthrough", false),
  };
}
