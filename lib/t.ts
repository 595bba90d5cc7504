// `t`: TypeBox's builders under Ferry's own, smaller type. At run time `t`
// is TypeBox's `Type` (each call returns plain JSON Schema 2020-12); its
// type is the subset below, written here so Ferry's documented API does
// not reach into TypeBox's hundreds of declarations (`deno doc --lint`
// requires every type a public symbol names to be public and documented).
// For the rest of TypeBox, import it directly: its schemas work anywhere a
// Ferry schema goes, and `Infer` reads their types the same way.

// deno-lint-ignore no-import-prefix
import { Type } from "npm:@sinclair/typebox@^0.34.41";

/**
 * JSON Schema keywords a builder accepts besides its own arguments:
 * `minimum`, `maxLength`, `format`, `pattern`, `default`, `$id`…
 *
 * @example
 * ```ts
 * import type { SchemaOptions } from "@ferry/ferry";
 * const id: SchemaOptions = { minimum: 1, description: "the pet's id" };
 * ```
 */
export interface SchemaOptions {
  /** Names the schema: OpenAPI lists it once under `components.schemas`. */
  $id?: string;
  /** Filled in by Rust when the value is missing. */
  default?: unknown;
  /** Human-readable text, shown in the OpenAPI document. */
  description?: string;
  /** Any other JSON Schema keyword. */
  [keyword: string]: unknown;
}

/**
 * A JSON Schema that carries the TypeScript type `T` of the values it
 * accepts (a phantom member: it does not exist at run time).
 *
 * @example
 * ```ts
 * import { type Schema, t } from "@ferry/ferry";
 * const n: Schema<number> = t.Integer();
 * ```
 */
export interface Schema<T> {
  /** The type of accepted values; for the type checker only. */
  readonly static: T;
}

/**
 * A property schema marked optional by `t.Optional`.
 *
 * @example
 * ```ts
 * import { type OptionalSchema, t } from "@ferry/ferry";
 * const tag: OptionalSchema<string> = t.Optional(t.String());
 * ```
 */
export interface OptionalSchema<T> extends Schema<T> {
  /** Marks the property optional; for the type checker only. */
  readonly "~optional": true;
}

/**
 * The object type of a `t.Object` property map.
 *
 * @example
 * ```ts
 * import { type ObjectOf, t } from "@ferry/ferry";
 * const props = { name: t.String(), tag: t.Optional(t.String()) };
 * const pet: ObjectOf<typeof props> = { name: "Rex" };
 * ```
 */
export type ObjectOf<P extends Record<string, Schema<unknown>>> =
  & { [K in keyof P as P[K] extends { readonly "~optional": true } ? never : K]: P[K]["static"] }
  & { [K in keyof P as P[K] extends { readonly "~optional": true } ? K : never]?: P[K]["static"] };

/**
 * The builders of `t` (TypeBox's, typed by Ferry).
 *
 * @example
 * ```ts
 * import { t, type TypeBuilder } from "@ferry/ferry";
 * const builder: TypeBuilder = t;
 * ```
 */
export interface TypeBuilder {
  /** An object with these properties (each required unless `t.Optional`). */
  Object<P extends Record<string, Schema<unknown>>>(
    properties: P,
    options?: SchemaOptions,
  ): Schema<{ [K in keyof ObjectOf<P>]: ObjectOf<P>[K] }>;
  /** A string (`minLength`, `maxLength`, `pattern`, `format`…). */
  String(options?: SchemaOptions): Schema<string>;
  /** An integer (`minimum`, `maximum`, `multipleOf`…). */
  Integer(options?: SchemaOptions): Schema<number>;
  /** A number. */
  Number(options?: SchemaOptions): Schema<number>;
  /** `true` or `false` (the text `true`/`false` in params, query, headers). */
  Boolean(options?: SchemaOptions): Schema<boolean>;
  /** `null`. */
  Null(options?: SchemaOptions): Schema<null>;
  /** An array of `items` (in a query string: a repeated key). */
  Array<I extends Schema<unknown>>(items: I, options?: SchemaOptions): Schema<I["static"][]>;
  /** Marks an object property optional. */
  Optional<S extends Schema<unknown>>(schema: S): OptionalSchema<S["static"]>;
  /** Exactly this value. */
  Literal<V extends string | number | boolean>(value: V, options?: SchemaOptions): Schema<V>;
  /** Any of these schemas. */
  Union<S extends Schema<unknown>[]>(
    schemas: [...S],
    options?: SchemaOptions,
  ): Schema<S[number]["static"]>;
  /** An object with any string keys and values of `values`. */
  Record<V extends Schema<unknown>>(
    keys: Schema<string>,
    values: V,
    options?: SchemaOptions,
  ): Schema<Record<string, V["static"]>>;
  /** Any value. */
  Unknown(options?: SchemaOptions): Schema<unknown>;
}

/**
 * Schema builders (TypeBox's, typed by Ferry): each call returns plain
 * JSON Schema that Rust validates, and carries the TypeScript type
 * `c.valid` gets.
 *
 * @example
 * ```ts
 * import { App, t } from "@ferry/ferry";
 * const app = new App();
 * app.post("/users", (c) => ({ hello: c.valid.body.name }), {
 *   schema: { body: t.Object({ name: t.String({ minLength: 1 }) }) },
 * });
 * ```
 */
export const t: TypeBuilder = Type as unknown as TypeBuilder;
