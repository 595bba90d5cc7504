// Route schemas as users write them (TypeBox, a Standard Schema library
// that emits JSON Schema, or plain JSON Schema 2020-12), the types they
// give `c.valid`, and their conversion to the JSON Schema Rust compiles.

/**
 * A schema written with a Standard Schema library that can emit JSON
 * Schema (zod 4 and ArkType 2.1+ implement the
 * `~standard.jsonSchema` interface; tested: zod 4.6).
 *
 * @example
 * ```ts
 * import type { StandardJsonSchema } from "@ferry/ferry";
 * const loose: StandardJsonSchema<{ n: number }> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "handmade",
 *     validate: (v) => ({ value: v as { n: number } }),
 *     jsonSchema: { input: () => ({ type: "object" }), output: () => ({ type: "object" }) },
 *   },
 * };
 * ```
 */
export interface StandardJsonSchema<Output = unknown> {
  /** The Standard Schema properties, with the JSON Schema converter. */
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => unknown;
    readonly types?: { readonly input: unknown; readonly output: Output };
    readonly jsonSchema?: {
      readonly input: (options: { target: string }) => Record<string, unknown>;
      readonly output: (options: { target: string }) => Record<string, unknown>;
    };
  };
}

/**
 * A schema for one part of a request or response: TypeBox (`t.Object…`),
 * a Standard Schema with JSON Schema output (zod 4), or a JSON Schema
 * 2020-12 object.
 *
 * @example
 * ```ts
 * import type { SchemaLike } from "@ferry/ferry";
 * const id: SchemaLike = { type: "integer", minimum: 1 };
 * ```
 */
export type SchemaLike = StandardJsonSchema | object;

/**
 * The parts of a route's contract that Rust checks before JavaScript runs
 * (params, query, headers, cookies, body), and the responses it may give
 * (`response`, keyed by status; documented in OpenAPI, and checked when
 * `validateResponses` is on).
 *
 * @example
 * ```ts
 * import { type RouteSchema, t } from "@ferry/ferry";
 * const schema: RouteSchema = {
 *   params: t.Object({ id: t.Integer() }),
 *   query: t.Object({ verbose: t.Boolean({ default: false }) }),
 *   response: { 200: t.Object({ id: t.Integer() }) },
 * };
 * ```
 */
export interface RouteSchema {
  /** Path parameters, by name; strings coerced to the schema's types. */
  params?: SchemaLike;
  /** The query string; a repeated key fills an array property. */
  query?: SchemaLike;
  /** Request headers the route reads (names match without regard to case). */
  headers?: SchemaLike;
  /** Cookies from the `Cookie` header. */
  cookies?: SchemaLike;
  /** The body: JSON or `application/x-www-form-urlencoded`. */
  body?: SchemaLike;
  /** Response bodies by status (`200`, `"4XX"`, `"default"`). */
  response?: Record<number | string, SchemaLike>;
}

/**
 * Documentation and checks a route carries besides middleware: its
 * schemas and its OpenAPI operation fields.
 *
 * @example
 * ```ts
 * import { App, t } from "@ferry/ferry";
 * new App().get("/health", () => "ok", { summary: "Liveness", tags: ["ops"] });
 * ```
 */
export interface RouteContract<S extends RouteSchema = RouteSchema> {
  /** Schemas checked in Rust before the handler runs. @default undefined */
  schema?: S;
  /** OpenAPI `summary`. @default undefined */
  summary?: string;
  /** OpenAPI `description`. @default undefined */
  description?: string;
  /** OpenAPI `tags`. @default [] */
  tags?: string[];
  /** OpenAPI `operationId`. @default method and path, e.g. `get_users_id` */
  operationId?: string;
}

/**
 * The type a schema describes: TypeBox's `Static`, a Standard Schema's
 * output, `unknown` for plain JSON Schema.
 *
 * @example
 * ```ts
 * import { type Infer, t } from "@ferry/ferry";
 * const User = t.Object({ name: t.String() });
 * const user: Infer<typeof User> = { name: "Ada" };
 * ```
 */
export type Infer<S> = S extends { readonly "~standard": { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly output: infer O } ? O : unknown
  // TypeBox schemas carry their type in a phantom `static` member.
  : S extends { readonly static: infer T } ? T
  : unknown;

/**
 * What `c.valid` holds for a route with schema `S`: each part the schema
 * names, coerced and with defaults applied; `undefined` for the others.
 *
 * @example
 * ```ts
 * import type { Schema, ValidOf } from "@ferry/ferry";
 * type V = ValidOf<{ query: Schema<{ q: string }> }>;
 * const v: V["query"] = { q: "x" };
 * ```
 */
export type ValidOf<S> = {
  params: S extends { params: infer P } ? Infer<P> : undefined;
  query: S extends { query: infer P } ? Infer<P> : undefined;
  headers: S extends { headers: infer P } ? Infer<P> : undefined;
  cookies: S extends { cookies: infer P } ? Infer<P> : undefined;
  body: S extends { body: infer P } ? Infer<P> : undefined;
};

/**
 * `c.valid` of a route whose schema is not known to the type checker.
 *
 * @example
 * ```ts
 * import type { Valid } from "@ferry/ferry";
 * const nothing: Valid = {};
 * ```
 */
export interface Valid {
  /** Path parameters. */
  // deno-lint-ignore no-explicit-any
  params?: any;
  /** The query string. */
  // deno-lint-ignore no-explicit-any
  query?: any;
  /** The headers the schema names. */
  // deno-lint-ignore no-explicit-any
  headers?: any;
  /** Cookies. */
  // deno-lint-ignore no-explicit-any
  cookies?: any;
  /** The body. */
  // deno-lint-ignore no-explicit-any
  body?: any;
}

function isStandard(s: SchemaLike): s is StandardJsonSchema {
  return typeof s === "object" && s !== null && "~standard" in s;
}

/**
 * The JSON Schema 2020-12 document of a schema: a Standard Schema's own
 * conversion (its input side: defaults are not required of the client),
 * or the object itself without TypeBox's symbol-keyed markers.
 *
 * @example
 * ```ts
 * import { t, toJsonSchema } from "@ferry/ferry";
 * console.assert(toJsonSchema(t.Integer()).type === "integer");
 * ```
 */
export function toJsonSchema(schema: SchemaLike): Record<string, unknown> {
  if (isStandard(schema)) {
    const convert = schema["~standard"].jsonSchema;
    if (!convert) {
      throw new TypeError(
        `A ${
          schema["~standard"].vendor
        } schema without "~standard.jsonSchema" cannot be checked by Ferry; ` +
          `wrap it with withJsonSchema(schema, converter) (for valibot: toJsonSchema from @valibot/to-json-schema).`,
      );
    }
    return convert.input({ target: "draft-2020-12" });
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new TypeError(`A route schema must be an object, got ${JSON.stringify(schema)}`);
  }
  // JSON round trip: drops TypeBox's symbols and anything not JSON.
  return JSON.parse(JSON.stringify(schema));
}

/**
 * A Standard Schema given its JSON Schema by a converter, for libraries
 * whose schemas do not carry `~standard.jsonSchema` themselves (valibot
 * 1.x with `@valibot/to-json-schema`). `c.valid` is still typed from the
 * library's own output type.
 *
 * @example
 * ```ts
 * import { withJsonSchema } from "@ferry/ferry";
 * const schema = {
 *   "~standard": { version: 1 as const, vendor: "handmade", validate: (v: unknown) => ({ value: v }) },
 * };
 * const checked = withJsonSchema(schema, () => ({ type: "object" }));
 * console.assert(checked["~standard"].jsonSchema.input({ target: "draft-2020-12" }).type === "object");
 * ```
 */
export function withJsonSchema<S extends { readonly "~standard": StandardJsonSchema["~standard"] }>(
  schema: S,
  convert: (schema: S) => object,
): S & StandardJsonSchema<Infer<S>> & {
  readonly "~standard": {
    readonly jsonSchema: NonNullable<StandardJsonSchema["~standard"]["jsonSchema"]>;
  };
} {
  const json = () => convert(schema) as Record<string, unknown>;
  return {
    ...schema,
    "~standard": { ...schema["~standard"], jsonSchema: { input: json, output: json } },
  } as never;
}
