// The todo API's shared types: what middleware stores on each request.

import type { Env } from "../../mod.ts";

/** A signed-in user. */
export interface User {
  id: string;
  name: string;
}

/** One todo item (returned as JSON straight from handlers). */
export interface Todo {
  id: number;
  title: string;
  done: boolean;
  owner: string;
}

/** Variables set by the auth middleware, typed for `c.get`/`c.set`. */
export type TodoEnv = { Variables: { user: User } } & Env;

/** Signs session cookies; the first key signs, all verify (rotate by prepending). */
export const SESSION_KEYS: string[] = [Deno.env.get("SESSION_KEY") ?? "dev-only-secret-change-me"];
