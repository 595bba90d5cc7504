// One check for response headers set from TypeScript: a CR, LF or NUL in a
// value (or a name that is not a token) could forge a header line, so such a
// header is refused and logged, never written.

// HTTP header values are bytes; like Headers, Ferry refuses characters
// beyond Latin-1 (they have no single-byte form on the wire).
const FORBIDDEN = /[\r\n\0\u0100-\uffff]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `name: value` may be sent; logs and returns false otherwise. */
export function validHeader(name: string, value: string): boolean {
  if (TOKEN.test(name) && !FORBIDDEN.test(value)) return true;
  console.error(
    `ferry: refused response header ${
      JSON.stringify(name)
    }: names must be tokens and values must be Latin-1 without CR, LF or NUL`,
  );
  return false;
}
