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

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const WIDE = /[^\0-\xff]/;
// Matching control characters is the point of this one.
// deno-lint-ignore no-control-regex
const CONTROL = /[\0-\x08\x0a-\x1f\x7f]/;

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
  if (!TOKEN.test(name)) return "its name is not an HTTP token";
  if (WIDE.test(value)) return "its value has a character above U+00FF";
  if (CONTROL.test(value)) return "its value has a control character (CR, LF, NUL or another)";
  return undefined;
}
