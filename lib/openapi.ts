// The OpenAPI 3.1 document of an app, built from its routes: `{param}`
// paths, parameters from the params/query/headers/cookies schemas, the
// request body, responses by status, and components for every schema
// that names itself with `$id` (written once, `$ref`'d everywhere).
// Served by Rust as a const route; see docs/validation.md.

import type { Handler, RouteOptions } from "./middleware.ts";
import type { StaticOptions } from "./static.ts";
import { docsHtml, docsInit, swaggerUiDir } from "./_docs_page.ts";
import { type SchemaLike, toJsonSchema } from "./schema.ts";
import { STATUS_TEXT } from "./http_error.ts";

/**
 * Options of `app.openapi()`.
 *
 * @example
 * ```ts
 * import { App, type OpenApiOptions } from "@ferry/ferry";
 * const options: OpenApiOptions = {
 *   path: "/openapi.json",
 *   docs: "/docs",
 *   info: { title: "Pets", version: "1.0.0" },
 * };
 * new App().openapi(options);
 * ```
 */
export interface OpenApiOptions {
  /** Where the JSON document is served. @default "/openapi.json" */
  path?: string;
  /**
   * Where the Swagger UI page is served (its assets come from the
   * `swagger-ui-dist` npm package, served by Rust); `false` for none.
   * @default "/docs"
   */
  docs?: string | false;
  /** The document's `info`. @default { title: "Ferry API", version: "0.0.0" } */
  info?: { title: string; version: string; description?: string; [key: string]: unknown };
  /** The document's `servers`. @default undefined */
  servers?: { url: string; description?: string }[];
}

/** A route as the document sees it. */
export interface DocumentedRoute {
  method: string;
  path: string;
  names: readonly string[];
  options: RouteOptions;
}

type Json = Record<string, unknown>;

const PROBLEM = "Problem";
const PROBLEM_SCHEMA: Json = {
  type: "object",
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        properties: {
          location: { enum: ["path", "query", "header", "cookie", "body"] },
          pointer: { type: "string" },
          keyword: { type: "string" },
          message: { type: "string" },
        },
      },
    },
  },
};

/** Collects components: each schema with `$id` moves there once. */
class Components {
  schemas: Record<string, Json> = {};

  /** `schema` with every `$id`'d subschema replaced by a `$ref`. */
  lift(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map((s) => this.lift(s));
    if (schema === null || typeof schema !== "object") return schema;
    const out: Json = {};
    for (const [key, value] of Object.entries(schema)) {
      if (key === "$schema" || key === "$id") continue;
      out[key] = this.lift(value);
    }
    const id = (schema as Json).$id;
    if (typeof id !== "string") return out;
    const name = id.replace(/^.*[/#]/, "").replace(/\.json$/, "").replace(/[^\w.-]/g, "_");
    this.schemas[name] = out;
    return { $ref: `#/components/schemas/${name}` };
  }
}

/** `/users/:id` and `/files/*rest` as `/users/{id}` and `/files/{rest}`. */
export function openApiPath(path: string): string {
  return path.replace(/[:*]([A-Za-z0-9_]+)/g, "{$1}");
}

function parameters(
  route: DocumentedRoute,
  components: Components,
): Json[] {
  const schema = route.options.schema ?? {};
  const out: Json[] = [];
  const params = schema.params ? toJsonSchema(schema.params) : undefined;
  for (const name of route.names) {
    const sub = (params?.properties as Json | undefined)?.[name] ?? { type: "string" };
    out.push({ name, in: "path", required: true, schema: components.lift(sub) });
  }
  const places: [SchemaLike | undefined, string][] = [
    [schema.query, "query"],
    [schema.headers, "header"],
    [schema.cookies, "cookie"],
  ];
  for (const [given, place] of places) {
    if (!given) continue;
    const json = toJsonSchema(given);
    const required = new Set((json.required as string[] | undefined) ?? []);
    for (const [name, sub] of Object.entries((json.properties as Json | undefined) ?? {})) {
      // Rust fills in a default before checking `required`: the client may leave it out.
      const needed = required.has(name) && !(sub && typeof sub === "object" && "default" in sub);
      out.push({ name, in: place, required: needed, schema: components.lift(sub) });
    }
  }
  return out;
}

function responses(route: DocumentedRoute, components: Components): Json {
  const out: Json = {};
  const given = route.options.schema?.response ?? {};
  for (const [status, schema] of Object.entries(given)) {
    const lifted = components.lift(toJsonSchema(schema));
    const content: Json = { "application/json": { schema: lifted } };
    // Errors thrown as HttpError go out as problem+json.
    if (!/^[123]/.test(status)) content["application/problem+json"] = { schema: lifted };
    out[status] = { description: STATUS_TEXT[Number(status)] ?? "Response", content };
  }
  if (Object.keys(out).length === 0) out["200"] = { description: "OK" };
  const schema = route.options.schema;
  if (
    schema && (schema.params || schema.query || schema.headers || schema.cookies || schema.body)
  ) {
    out["422"] ??= {
      description: "The request did not match the route's schema (every error listed).",
      content: {
        "application/problem+json": { schema: { $ref: `#/components/schemas/${PROBLEM}` } },
      },
    };
    components.schemas[PROBLEM] = PROBLEM_SCHEMA;
  }
  if (schema?.body) {
    const problem = (description: string) => ({
      description,
      content: {
        "application/problem+json": { schema: { $ref: `#/components/schemas/${PROBLEM}` } },
      },
    });
    out["400"] ??= problem("The body is not valid JSON.");
    out["415"] ??= problem("The body is neither JSON nor a form.");
  }
  return out;
}

const METHODS_OF_ALL = ["get", "put", "post", "delete", "patch"];

/**
 * The OpenAPI 3.1 document of `routes`.
 *
 * @example
 * ```ts
 * import { openApiDocument } from "./openapi.ts";
 * const doc = openApiDocument([{ method: "GET", path: "/a/:id", names: ["id"], options: {} }]);
 * console.assert("/a/{id}" in (doc.paths as object));
 * ```
 */
export function openApiDocument(
  routes: readonly DocumentedRoute[],
  options: OpenApiOptions = {},
): Json {
  const components = new Components();
  const paths: Record<string, Json> = {};
  const used = new Set<string>();
  for (const route of routes) {
    const path = openApiPath(route.path);
    const item = paths[path] ??= {};
    const methods = route.method === "*" ? METHODS_OF_ALL : [route.method.toLowerCase()];
    for (const method of methods) {
      const o = route.options;
      let id = o.operationId ??
        `${method}${route.path.replace(/[^A-Za-z0-9]+/g, "_").replace(/_$/, "")}`;
      for (let n = 2; used.has(id); n++) id = `${o.operationId ?? id}_${n}`;
      used.add(id);
      const operation: Json = { operationId: id };
      if (o.summary) operation.summary = o.summary;
      if (o.description) operation.description = o.description;
      if (o.tags?.length) operation.tags = o.tags;
      const params = parameters(route, components);
      if (params.length) operation.parameters = params;
      if (o.schema?.body) {
        const schema = components.lift(toJsonSchema(o.schema.body));
        operation.requestBody = {
          required: true,
          content: {
            "application/json": { schema },
            "application/x-www-form-urlencoded": { schema },
          },
        };
      }
      operation.responses = responses(route, components);
      item[method] = operation;
    }
  }
  const doc: Json = {
    openapi: "3.1.0",
    info: options.info ?? { title: "Ferry API", version: "0.0.0" },
  };
  if (options.servers) doc.servers = options.servers;
  doc.paths = paths;
  if (Object.keys(components.schemas).length) doc.components = { schemas: components.schemas };
  return doc;
}

/** What `mountOpenApi` needs of the app. */
export interface OpenApiHost {
  /** The routes to document, with their full paths (read when the server starts). */
  routes(): readonly DocumentedRoute[];
  /**
   * Where the app's own paths start for a client: the prefix it is mounted
   * under plus its `basePath` (read when the server starts).
   */
  prefix(): string;
  /** Adds a const GET route left out of the document. */
  route(path: string, handler: Handler): void;
  /** Adds a static mount. */
  static(prefix: string, dir: string, options: StaticOptions): void;
}

/**
 * Registers the document route, and the docs page with its start-up
 * script and Swagger UI's files, on `host` (see `app.openapi()`).
 */
export function mountOpenApi(options: OpenApiOptions, host: OpenApiHost): void {
  const path = options.path ?? "/openapi.json";
  let text: string | undefined;
  // Built on the first request (a const route: when the server starts).
  const document = () => text ??= JSON.stringify(openApiDocument(host.routes(), options));
  host.route(path, (c) => c.body(document(), 200, "application/json"));
  const docs = options.docs ?? "/docs";
  if (docs === false) return;
  const title = options.info?.title ?? "Ferry API";
  const assets = `${docs}/assets`;
  const init = `${docs}/init.js`;
  // The page and its script name what they load by full path: the app may
  // be mounted under a prefix, or have a basePath.
  host.route(docs, (c) => c.html(docsHtml(title, host.prefix() + assets, host.prefix() + init)));
  host.route(
    init,
    (c) => c.body(docsInit(host.prefix() + path), 200, "text/javascript; charset=utf-8"),
  );
  host.static(assets, swaggerUiDir(), { cacheControl: "public, max-age=86400" });
}
