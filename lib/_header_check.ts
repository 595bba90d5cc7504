// The one check of response headers. Every header a reply carries, however
// it was set (c.header, a helper's content type, Reply.set, Headers, a Web
// Response, an HttpError), is checked here once, when the reply is sealed
// for sending (Reply.sealed, called by the network writer and by
// toResponse for app.fetch), so the two paths cannot answer differently.
//
// The rule is the one hyper applies on the Rust side (HeaderName::from_bytes,
// HeaderValue::from_bytes), so nothing TypeScript accepts is dropped there:
// names are RFC 9110 tokens; values are Latin-1 (one byte per character on
// the wire, so a character above U+00FF has no faithful form; writing its
// low byte would turn U+010A into LF) without control characters other
// than tab (CR, LF and NUL would end or split the header line).

// One pass over each string with a table, not three regular expressions:
// this runs for every header of every answer (measured: the regex version
// was ~0.3 µs per two-header answer of `serve()` with Hono, under the
// profiler).
const NAME = "its name is not an HTTP token";
const WIDE = "its value has a character above U+00FF";
const CONTROL = "its value has a control character (CR, LF, NUL or another)";

/** 1 for the characters of an RFC 9110 token: these symbols, digits, letters. */
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1;
}

/**
 * Why `name: value` may not be sent as a response header, or `undefined`
 * when it may.
 *
 * @example
 * ```ts
 * import { headerProblem } from "./_header_check.ts";
 * console.assert(headerProblem("x-a", "caf\u00e9") === undefined);
 * console.assert(headerProblem("x-a", "a\r\nset-cookie: b") !== undefined);
 * ```
 */
export function headerProblem(name: string, value: string): string | undefined {
  const n = name.length;
  if (n === 0) return NAME;
  for (let i = 0; i < n; i++) {
    const code = name.charCodeAt(i);
    if (code > 0x7f || TOKEN_CHARS[code] === 0) return NAME;
  }
  // A wide character is reported before a control character anywhere in
  // the value, as the rule reads: the first is the worse (no byte form).
  let control = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return WIDE;
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) control = true;
  }
  return control ? CONTROL : undefined;
}
