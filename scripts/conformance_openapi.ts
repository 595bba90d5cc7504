/**
 * Runs schemathesis (PyPI `schemathesis`, `pip install schemathesis`)
 * against the typed example's OpenAPI document: it generates requests
 * from every operation's schemas, valid and invalid, and checks each
 * answer (no 5xx, status and content type documented, bodies matching
 * their response schemas). The example runs with `validateResponses` on,
 * so a response that breaks its schema shows up as a 500 too.
 *
 *   deno task conformance:openapi [-- extra schemathesis arguments]
 *
 * Not part of `deno task ok`: it needs Python and takes a minute. The last
 * summary is kept in docs/validation.md.
 *
 * @module
 */
import { app } from "../examples/typed_api.ts";

const server = app.listen({ hostname: "127.0.0.1", port: 0, validateResponses: true });
const url = `http://127.0.0.1:${server.addr.port}/openapi.json`;
const bin = Deno.env.get("SCHEMATHESIS") ?? "schemathesis";
let code = 1;
try {
  const child = new Deno.Command(bin, {
    args: ["run", url, "--checks", "all", ...Deno.args],
    // schemathesis keeps a cache (`.schemathesis/`) in its working directory.
    cwd: await Deno.makeTempDir({ prefix: "ferry-schemathesis-" }),
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  code = (await child.status).code;
} catch (error) {
  console.error(`could not run ${bin} (pip install schemathesis): ${error}`);
} finally {
  await server.shutdown();
}
Deno.exit(code);
