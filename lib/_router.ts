// Route matching in TypeScript, for app.fetch (the network path routes in
// Rust with matchit). It follows the same rules, checked by one shared test
// suite: static segments beat :params beat *wildcards, params are
// percent-decoded, trailing slashes are strict, HEAD falls back to GET, and
// a path without the method gives the Allow list.

/** Outcome of matching. */
export type Match<T> =
  | { kind: "found"; value: T; params: string[] }
  | { kind: "method"; allow: string }
  | { kind: "missing" }
  | { kind: "bad-param" };

interface Node<T> {
  statics: Map<string, Node<T>>;
  param?: Node<T>;
  wildcard?: Map<string, T>;
  methods?: Map<string, T>;
  /** The pattern that registered each method here, to name it in a conflict. */
  patterns?: Map<string, string>;
}

const node = <T>(): Node<T> => ({ statics: new Map() });

/** Splits `/a/:b/*c` into its parameter names, in order. */
export function paramNames(pattern: string): string[] {
  const names: string[] = [];
  for (const segment of pattern.split("/")) {
    if (segment.startsWith(":") || segment.startsWith("*")) {
      names.push(segment.slice(1));
    }
  }
  return names;
}

/** A method-aware route tree. */
export class RouteTree<T> {
  #root: Node<T> = node();

  /** Adds `value` for `method` (upper case, or "*" for any) at `pattern`. */
  add(method: string, pattern: string, value: T): void {
    if (!pattern.startsWith("/")) {
      throw new TypeError(`Route pattern "${pattern}" must start with "/"`);
    }
    const segments = pattern.split("/").slice(1);
    for (const segment of segments) {
      if (segment === ":" || segment === "*") {
        throw new TypeError(`Route pattern "${pattern}": a parameter needs a name`);
      }
    }
    let at = this.#root;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      if (segment.startsWith("*")) {
        if (i !== segments.length - 1) {
          throw new TypeError(
            `Route pattern "${pattern}": a *wildcard must be the last segment`,
          );
        }
        // matchit (the network router) refuses these; refuse them here too,
        // so app.fetch never accepts a table that listen() rejects.
        if (at.param) throw conflict(pattern, "a :param");
        at.wildcard ??= new Map();
        if (at.wildcard.has(method)) throw duplicate(method, pattern, at.patterns);
        at.wildcard.set(method, value);
        (at.patterns ??= new Map()).set("*" + method, pattern);
        return;
      }
      if (segment.startsWith(":")) {
        if (at.wildcard) throw conflict(pattern, "a *wildcard");
        at = at.param ??= node();
      } else {
        let next = at.statics.get(segment);
        if (!next) at.statics.set(segment, next = node());
        at = next;
      }
    }
    at.methods ??= new Map();
    if (at.methods.has(method)) throw duplicate(method, pattern, at.patterns, "");
    at.methods.set(method, value);
    (at.patterns ??= new Map()).set(method, pattern);
  }

  /** Matches a raw (percent-encoded) path. */
  find(method: string, path: string): Match<T> {
    const segments = path.split("/").slice(1);
    const raw: string[] = [];
    const found = walk(this.#root, segments, 0, raw);
    if (!found) return { kind: "missing" };
    const value = pick(found, method);
    if (value === undefined) return { kind: "method", allow: allow(found) };
    const params: string[] = [];
    for (const p of raw) {
      const decoded = percentDecode(p);
      if (decoded === undefined) return { kind: "bad-param" };
      params.push(decoded);
    }
    return { kind: "found", value, params };
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8 = new TextEncoder();
const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * Percent-decodes like Rust's router: a `%` not followed by two hex digits,
 * or bytes that are not UTF-8, give `undefined` (a 400).
 */
function percentDecode(raw: string): string | undefined {
  if (!raw.includes("%")) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 0x25) {
      if (!HEX.test(raw.slice(i + 1, i + 3))) return undefined;
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      const char = String.fromCodePoint(raw.codePointAt(i)!);
      bytes.push(...utf8.encode(char));
      i += char.length - 1;
    }
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

function conflict(pattern: string, other: string): Error {
  return new TypeError(
    `Route pattern "${pattern}" conflicts with ${other} registered at the same position`,
  );
}

function duplicate(
  method: string,
  pattern: string,
  patterns: Map<string, string> | undefined,
  kind = "*",
): Error {
  const earlier = patterns?.get(kind + method);
  if (earlier === undefined || earlier === pattern) {
    return new TypeError(`Route ${method} "${pattern}" is registered twice`);
  }
  return new TypeError(
    `Route ${method} "${pattern}" conflicts with ${method} "${earlier}": both match the same paths`,
  );
}

function walk<T>(
  at: Node<T>,
  segments: string[],
  i: number,
  params: string[],
): Map<string, T> | undefined {
  if (i === segments.length) return at.methods;
  const segment = segments[i];
  const exact = at.statics.get(segment);
  if (exact) {
    const found = walk(exact, segments, i + 1, params);
    if (found) return found;
  }
  if (at.param && segment !== "") {
    params.push(segment);
    const found = walk(at.param, segments, i + 1, params);
    if (found) return found;
    params.pop();
  }
  if (at.wildcard) {
    // A wildcard takes the rest of the path, at least one character (as matchit).
    const rest = segments.slice(i).join("/");
    if (rest === "") return undefined;
    params.push(rest);
    return at.wildcard;
  }
  return undefined;
}

function pick<T>(methods: Map<string, T>, method: string): T | undefined {
  return methods.get(method) ??
    (method === "HEAD" ? methods.get("GET") : undefined) ??
    methods.get("*");
}

function allow<T>(methods: Map<string, T>): string {
  const names = [...methods.keys()];
  if (names.includes("GET") && !names.includes("HEAD")) names.push("HEAD");
  if (!names.includes("OPTIONS")) names.push("OPTIONS");
  return names.sort().join(", ");
}
