/**
 * Types that follow the app: route parameters read from the path pattern,
 * and per-request variables declared once on the `App`.
 *
 * @module
 */

/**
 * What an app declares about its requests: the variables middleware sets
 * with `c.set()` and handlers read with `c.get()`.
 *
 * @example
 * ```ts
 * import { App, type Env } from "@ferry/ferry";
 * interface User { id: string }
 * type MyEnv = { Variables: { user: User } } & Env;
 * const app = new App<MyEnv>();
 * app.before((c) => c.set("user", { id: "ada" }));
 * app.get("/me", (c) => c.get("user"));
 * ```
 */
export interface Env {
  /** Variable names and their types. @default {Record<string, any>} */
  Variables?: object;
}

/** The variables of `E`; any name, of any type, when `E` declares none. */
export type Variables<E extends Env> = E["Variables"] extends object ? E["Variables"]
  // deno-lint-ignore no-explicit-any
  : Record<string, any>;

/**
 * The parameter names of a route pattern, as a union:
 * `ParamNames<"/users/:id/files/*path">` is `"id" | "path"`.
 *
 * @example
 * ```ts
 * import type { ParamNames } from "@ferry/ferry";
 * const name: ParamNames<"/users/:id"> = "id";
 * ```
 */
export type ParamNames<P extends string> = P extends `${infer Head}/${infer Tail}`
  ? ParamNames<Head> | ParamNames<Tail>
  : P extends `:${infer N}` ? N
  : P extends `*${infer N}` ? N
  : never;

/**
 * The parameters of a route pattern: `Params<"/users/:id/files/*path">` is
 * `{ id: string; path: string }`. A pattern only known as `string` gives
 * `Record<string, string>`.
 *
 * @example
 * ```ts
 * import type { Params } from "@ferry/ferry";
 * const p: Params<"/users/:id"> = { id: "7" };
 * ```
 */
export type Params<P extends string> = string extends P ? Record<string, string>
  : { [K in ParamNames<P>]: string };
