// The smallest Ferry app: `deno run -A examples/hello.ts`, then
// `curl http://127.0.0.1:8000/`.
import { App } from "../mod.ts";

const app = new App();
app.get("/", () => "Hello, World!");
app.listen({ port: Number(Deno.env.get("PORT") ?? 8000), hostname: "127.0.0.1" });
