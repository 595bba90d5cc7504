/**
 * The validation scenarios' schema in zod 4, and its errors as the same
 * RFC 9457 problem Ferry answers (`{ location, pointer, keyword, message }`
 * per error), for the peers that validate in JavaScript.
 *
 * @module
 */
// Inline on purpose: the peers must not add zod to Ferry's own import map.
// deno-lint-ignore no-import-prefix
import { z } from "npm:zod@^4.1";

/** `name` non-empty, `age` an integer >= 0, `email` an email address. */
export const User = z.object({
  name: z.string().min(1),
  age: z.number().int().min(0),
  email: z.email(),
});

const KEYWORD: Record<string, (origin?: string) => string> = {
  invalid_type: () => "type",
  invalid_format: () => "format",
  too_small: (o) => o === "string" ? "minLength" : o === "array" ? "minItems" : "minimum",
  too_big: (o) => o === "string" ? "maxLength" : o === "array" ? "maxItems" : "maximum",
  unrecognized_keys: () => "additionalProperties",
};

/** The 422 problem+json for zod issues. */
export function problem(issues: readonly z.core.$ZodIssue[]): Response {
  const errors = issues.map((i) => ({
    location: "body",
    pointer: i.path.map((p) => `/${String(p)}`).join(""),
    keyword: KEYWORD[i.code]?.((i as { origin?: string }).origin) ?? i.code,
    message: i.message,
  }));
  const body = JSON.stringify({
    type: "about:blank",
    title: "Unprocessable Content",
    status: 422,
    detail: `the request did not match the route's schema (${errors.length} errors)`,
    errors,
  });
  return new Response(body, {
    status: 422,
    headers: { "content-type": "application/problem+json" },
  });
}
