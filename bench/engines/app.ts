// The app the A/B runner (bench/engines/run.ts) measures. FERRY_ENGINE picks
// the engine ("pump" or "thread"); FERRY_APP picks the route behind `GET /`:
//   plain         "Hello, World!" text (default)
//   json          c.json({ ok: true }) with no middleware
//   json-mw16     the same behind 8 sync before + 8 sync after middleware
//   json-async    the same from an async handler
// It prints its stats as JSON on SIGTERM.
import { App, type Context } from "../../mod.ts";

const engine = (Deno.env.get("FERRY_ENGINE") ?? "pump") as "pump" | "thread";
const variant = Deno.env.get("FERRY_APP") ?? "plain";
const app = new App();
const json = (c: Context) => c.json({ ok: true });
const before = (c: Context) => {
  c.set("n", (c.get<number>("n") ?? 0) + 1);
};
const after = (c: Context) => {
  c.set("n", (c.get<number>("n") ?? 0) + 1);
};
switch (variant) {
  case "plain":
    app.get("/", () => "Hello, World!");
    break;
  case "json":
    app.get("/", json);
    break;
  case "json-mw16":
    app.get("/", json, { before: Array(8).fill(before), after: Array(8).fill(after) });
    break;
  case "json-async":
    app.get("/", async (c) => {
      await null;
      return json(c);
    });
    break;
  default:
    throw new TypeError(`Unknown FERRY_APP ${JSON.stringify(variant)}`);
}
const server = app.listen({
  port: Number(Deno.env.get("PORT") ?? 8000),
  hostname: "127.0.0.1",
  engine,
});
Deno.addSignalListener("SIGTERM", () => {
  console.log(JSON.stringify(server.stats()));
  Deno.exit(0);
});
