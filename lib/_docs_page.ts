// The docs page of app.openapi(): Swagger UI from the `swagger-ui-dist`
// npm package, its files served by Rust from the package's directory in
// Deno's npm cache (never a CDN). 5.17.14 is pinned: later 5.x releases
// depend on an install-time analytics package that Deno warns about.

// Inline specifiers (no import map) so Ferry imported by URL or path
// resolves them too.
const BUNDLE = "npm:swagger-ui-dist@5.17.14/swagger-ui-bundle.js";

// Never called: this import puts the package in Ferry's module graph, so
// Deno fetches it with Ferry and `import.meta.resolve` below finds its
// files on disk, for users importing Ferry as a package too.
export const _inGraph = (): Promise<unknown> =>
  // deno-lint-ignore no-import-prefix
  import("npm:swagger-ui-dist@5.17.14/absolute-path.js");

/** The directory holding Swagger UI's files. */
export function swaggerUiDir(): string {
  const url = import.meta.resolve(BUNDLE);
  if (!url.startsWith("file:")) {
    throw new Error(
      `app.openapi(): the docs page needs the npm package swagger-ui-dist, which Deno did not ` +
        `install (it resolved to ${url}); run once with network access, or pass docs: false`,
    );
  }
  const file = decodeURIComponent(new URL(url).pathname);
  return file.slice(0, file.lastIndexOf("/"));
}

/** The page itself: loads the bundle and its start-up script (no inline script, for CSP). */
export function docsHtml(title: string, assets: string, init: string): string {
  const safe = title.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safe}</title>
<link rel="stylesheet" href="${assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${assets}/swagger-ui-bundle.js"></script>
<script src="${init}"></script>
</body>
</html>
`;
}

/** The start-up script: points Swagger UI at the document. */
export function docsInit(documentPath: string): string {
  return `window.ui = SwaggerUIBundle({ url: ${
    JSON.stringify(documentPath)
  }, dom_id: "#swagger-ui", deepLinking: true });\n`;
}
