// Composition, resolved once: an App and the sub-apps mounted in it
// (`app.route()`) are flattened into one route table for Rust and one plan
// per route for TypeScript. Scoped middleware (`app.use("/api/*", fn)`, a
// sub-app's own middleware) is matched against route patterns here, so a
// request never pays for prefix matching in JavaScript. See
// docs/composition.md.

import type { After, Before, ErrorHook, Handler, Onion, RouteOptions } from "./middleware.ts";
import type { Layer, Plan } from "./_plan.ts";
import { paramNames, RouteTree } from "./_router.ts";
import { covers, joinPath, nativePrefix } from "./_scope.ts";
import type { NativeMiddleware, NativeSettings } from "./native.ts";
import type { StaticMountConfig } from "./static.ts";

/** A route as registered on one app (its path relative to the app). */
export interface RouteDef {
  method: string;
  path: string;
  handler: Handler;
  options: RouteOptions;
  /** `false` for a route left out of the OpenAPI document (its own routes). */
  documented?: boolean;
}

/** One middleware registration, with its path scope (relative to the app). */
export type Step =
  | { kind: "before"; fn: Before; scope?: string }
  | { kind: "onion"; fn: Onion; scope?: string }
  | { kind: "after"; fn: After; scope?: string };

/** A native middleware registration, with its path scope. */
export interface NativeUse {
  mw: NativeMiddleware;
  scope?: string;
}

/** What one app registered, as `compile()` reads it. */
export interface Blueprint {
  basePath: string;
  routes: readonly RouteDef[];
  steps: readonly Step[];
  natives: readonly NativeUse[];
  statics: readonly StaticMountConfig[];
  // deno-lint-ignore no-explicit-any
  mounts: readonly { prefix: string; app: any }[];
  onError?: ErrorHook;
  notFound?: Handler;
  /** Told the full prefix it is mounted under (not called for the root). */
  mounted?: (prefix: string) => void;
}

/** A route of the merged table. */
export interface CompiledRoute {
  /** Index in `Compiled.routes`, the id Rust echoes back. */
  id: number;
  method: string;
  /** The full pattern, prefixes included. */
  path: string;
  names: string[];
  plan: Plan;
  /** Whether it may be a const route (a user route with `const: true`). */
  constant: boolean;
  /** Its own body limit, as Rust reads it (`null`: `maxBodyBytes`). */
  bodyLimit: number | null;
  /** Its options as registered (schemas and OpenAPI fields). */
  options: RouteOptions;
  /** Whether the OpenAPI document lists it (not a fallback or a docs route). */
  documented: boolean;
}

/** The merged table of an app and everything mounted in it. */
export interface Compiled {
  routes: CompiledRoute[];
  /** What Rust routes: aliases share their route's id. */
  table: { method: string; path: string; id: number }[];
  /** The same table, for app.fetch. */
  tree: RouteTree<CompiledRoute>;
  statics: StaticMountConfig[];
  native: NativeSettings;
}

/** Name of the wildcard of the internal not-found routes. */
const REST = "*path";

/**
 * Flattens `root` and its mounts. Throws a TypeError naming both patterns
 * when two routes conflict, and when one native middleware is registered
 * twice across the tree.
 */
export function compile<A>(root: A, read: (app: A) => Blueprint): Compiled {
  const out: Compiled = {
    routes: [],
    table: [],
    tree: new RouteTree(),
    statics: [],
    native: {},
  };
  const scopes: Record<string, string[]> = {};
  const fallbacks: CompiledRoute[] = [];
  const path: A[] = [];
  const visit = (app: A, prefix: string, inherited: Step[], onError?: ErrorHook) => {
    if (path.includes(app)) {
      throw new TypeError(`app.route(): an app is mounted inside itself (at "${prefix}")`);
    }
    path.push(app);
    const bp = read(app);
    // Both are "" or "/x" without a trailing slash (checkPrefix).
    const base = prefix + bp.basePath;
    const steps = inherited.concat(bp.steps.map((s) => ({ ...s, scope: absolute(base, s.scope) })));
    onError = bp.onError ?? onError;
    for (const route of bp.routes) {
      const path = joinPath(base, route.path);
      const compiled = add(out, route.method, path, planFor(steps, path, route, onError), route);
      out.tree.add(route.method, path, compiled);
      out.table.push({ method: route.method, path, id: compiled.id });
    }
    for (const use of bp.natives) {
      use.mw.applyTo(out.native);
      const scope = absolute(base, use.scope);
      if (scope === undefined) continue;
      if (use.mw.key === "timeout") {
        throw new TypeError("timeout() applies to the whole server: register it without a path");
      }
      scopes[use.mw.key] = [nativePrefix(scope)];
    }
    for (const mount of bp.statics) {
      out.statics.push({ ...mount, prefix: base + mount.prefix });
    }
    if (bp.notFound) {
      const hook = bp.notFound;
      const handler: Handler = (c) => {
        c.status(404);
        return hook(c);
      };
      const def: RouteDef = {
        method: "*",
        path: joinPath(base, "/" + REST),
        handler,
        options: {},
        documented: false,
      };
      fallbacks.push(add(out, "*", def.path, planFor(steps, def.path, def, onError), def));
    }
    for (const mount of bp.mounts) {
      read(mount.app).mounted?.(base + mount.prefix);
      visit(mount.app, base + mount.prefix, steps, onError);
    }
    path.pop();
  };
  visit(root, "", []);
  // Added after every user route, so a user's own pattern always wins:
  // where one conflicts, the alias or fallback is left out.
  for (const route of [...out.routes]) {
    if (route.path.endsWith("/" + "*" + route.names.at(-1)) && !fallbacks.includes(route)) {
      alias(out, route, route.path.slice(0, route.path.lastIndexOf("/") + 1));
    }
  }
  for (const route of fallbacks) {
    const base = route.path.slice(0, -REST.length - 1);
    alias(out, route, route.path);
    alias(out, route, base + "/");
    if (base !== "") alias(out, route, base);
  }
  if (Object.keys(scopes).length > 0) out.native.scopes = scopes;
  return out;
}

/** A scope made absolute under `base`; `undefined` means "all of it". */
function absolute(base: string, scope: string | undefined): string | undefined {
  if (scope === undefined) return base === "" ? undefined : base + "/*";
  return scope === "/*" ? (base === "" ? undefined : base + "/*") : joinPath(base, scope);
}

function add(
  out: Compiled,
  method: string,
  path: string,
  plan: Plan,
  route: RouteDef,
): CompiledRoute {
  const compiled: CompiledRoute = {
    id: out.routes.length,
    method,
    path,
    names: paramNames(path),
    plan,
    constant: route.options.const === true,
    bodyLimit: route.options.bodyLimit ?? null,
    options: route.options,
    documented: route.documented !== false,
  };
  out.routes.push(compiled);
  return compiled;
}

/**
 * Also routes `path` to `route` (a wildcard's empty rest, a fallback's
 * prefix), unless a user route already answers it.
 */
function alias(out: Compiled, route: CompiledRoute, path: string): void {
  try {
    out.tree.add(route.method, path, route);
  } catch {
    return;
  }
  out.table.push({ method: route.method, path, id: route.id });
}

function planFor(steps: Step[], path: string, route: RouteDef, onError?: ErrorHook): Plan {
  const inbound: Layer[] = [];
  const after: After[] = [];
  for (const step of steps) {
    if (!covers(step.scope, path)) continue;
    if (step.kind === "after") after.push(step.fn);
    else inbound.push(step.kind === "before" ? { kind: "before", fn: step.fn } : step);
  }
  for (const fn of route.options.before ?? []) inbound.push({ kind: "before", fn });
  for (const fn of route.options.use ?? []) inbound.push({ kind: "onion", fn });
  after.push(...(route.options.after ?? []));
  return { inbound, after, handler: route.handler, onError };
}
