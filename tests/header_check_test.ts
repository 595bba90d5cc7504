// headerProblem(): the one rule for response header names and values, in
// one table. It must match what hyper accepts on the Rust side
// (HeaderName::from_bytes, HeaderValue::from_bytes), so nothing TypeScript
// lets through is dropped or refused there.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { headerProblem } from "../lib/_header_check.ts";

const NAME = "its name is not an HTTP token";
const WIDE = "its value has a character above U+00FF";
const CONTROL = "its value has a control character (CR, LF, NUL or another)";

const table: [name: string, value: string, expected: string | undefined][] = [
  ["content-type", "text/plain; charset=utf-8", undefined],
  ["X-Mixed-Case", "1", undefined],
  ["x-token!#$%&'*+-.^_`|~09", "v", undefined],
  ["x-empty", "", undefined],
  ["x-tab", "a\tb", undefined],
  ["x-spaces", " a b ", undefined],
  ["x-latin1", "caf\u00e9 \u00ff \u0080", undefined],
  ["x-visible", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", undefined],
  ["", "1", NAME],
  ["x evil", "1", NAME],
  ["x:evil", "1", NAME],
  ["x-evil\r\nset-cookie", "1", NAME],
  ["x-\u00e9", "1", NAME],
  ["x-\u0100", "1", NAME],
  ["x-a", "a\r\nset-cookie: b=1", CONTROL],
  ["x-a", "a\nb", CONTROL],
  ["x-a", "a\rb", CONTROL],
  ["x-a", "a\0b", CONTROL],
  ["x-a", "a\x01b", CONTROL],
  ["x-a", "a\x1fb", CONTROL],
  ["x-a", "a\x7fb", CONTROL],
  // Would be LF (0x0A) and CR (0x0D) if only the low byte were written.
  ["content-type", "text/plain\u010aset-cookie: evil=1", WIDE],
  ["location", "/a\u010d\u010alocation: //evil", WIDE],
  ["x-a", "\u0100", WIDE],
  ["x-a", "\u{1f600}", WIDE],
];

Deno.test("headerProblem() accepts tokens and Latin-1 values, refuses what could forge a line", () => {
  for (const [name, value, expected] of table) {
    assertEquals(headerProblem(name, value), expected, JSON.stringify([name, value]));
  }
});
