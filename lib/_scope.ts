// Path arithmetic for composition: joining a mount prefix to a route, and
// deciding at compile time (listen() or the first app.fetch) whether a
// path-scoped middleware covers a route pattern. Nothing here runs per
// request: scopes are resolved into each route's plan once.

/**
 * Joins a prefix and a pattern: `("/api", "/users")` is `/api/users`,
 * `("/api", "/")` is `/api` (as in Hono), `("", "/")` is `/`.
 */
export function joinPath(prefix: string, path: string): string {
  const head = prefix.replace(/\/+$/, "");
  if (path === "/" || path === "") return head === "" ? "/" : head;
  return head + (path.startsWith("/") ? path : "/" + path);
}

/** Checks a mount prefix or base path: `""`, or starts with "/" and has no wildcard. */
export function checkPrefix(what: string, prefix: string): string {
  if (typeof prefix !== "string" || (prefix !== "" && !prefix.startsWith("/"))) {
    throw new TypeError(`${what} "${prefix}" must start with "/"`);
  }
  if (/[*:?#]/.test(prefix)) {
    throw new TypeError(`${what} "${prefix}" must be a plain path (no :param, * or query)`);
  }
  return prefix.replace(/\/+$/, "");
}

/**
 * Checks a middleware scope: an exact pattern (`/login`, `/users/:id`) or a
 * prefix ending in `/*` (`/api/*`, `/*` for everything).
 */
export function checkScope(scope: string): string {
  if (typeof scope !== "string" || !scope.startsWith("/")) {
    throw new TypeError(`Middleware path "${scope}" must start with "/" (e.g. "/api/*")`);
  }
  const star = scope.indexOf("*");
  if (star !== -1 && star !== scope.length - 1) {
    throw new TypeError(`Middleware path "${scope}": "*" may only end it, as in "/api/*"`);
  }
  if (star !== -1 && !scope.endsWith("/*")) {
    throw new TypeError(`Middleware path "${scope}": write "/*" at the end, as in "/api/*"`);
  }
  return scope;
}

/**
 * Whether a middleware scope covers a route pattern. `/api/*` covers
 * `/api` and everything under it; `:x` in a scope stands for any one
 * segment; a literal segment covers only itself (a route `/:id` is not
 * covered by `/users`, since it also answers other paths).
 */
export function covers(scope: string | undefined, pattern: string): boolean {
  if (scope === undefined || scope === "/*") return true;
  const prefix = scope.endsWith("/*");
  const want = (prefix ? scope.slice(0, -2) : scope).split("/");
  const have = pattern.split("/");
  if (prefix ? have.length < want.length : have.length !== want.length) return false;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const h = have[i];
    if (w.startsWith(":")) {
      if (h.startsWith("*") || h === "") return false;
    } else if (w !== h) {
      return false;
    }
  }
  return true;
}

/**
 * The path prefix Rust compares for a scoped native middleware: `/api/*`
 * and `/api` both give `/api` (whole segments: `/api` and `/api/x`, not
 * `/apix`); `/*` gives `""` (everything).
 */
export function nativePrefix(scope: string): string {
  if (scope.includes(":")) {
    throw new TypeError(
      `Native middleware path "${scope}" cannot have a :param; use a plain prefix like "/api/*"`,
    );
  }
  return scope.replace(/\/\*$/, "").replace(/\/+$/, "");
}
