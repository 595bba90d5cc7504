// Plaintext hello world on Ferry with the engine from FERRY_ENGINE
// ("pump" or "thread"); prints its stats as JSON on SIGTERM.
import { App } from "../../mod.ts";

const engine = (Deno.env.get("FERRY_ENGINE") ?? "pump") as "pump" | "thread";
const app = new App();
app.get("/", () => "Hello, World!");
const server = app.listen({
  port: Number(Deno.env.get("PORT") ?? 8000),
  hostname: "127.0.0.1",
  engine,
});
Deno.addSignalListener("SIGTERM", () => {
  console.log(JSON.stringify(server.stats()));
  Deno.exit(0);
});
