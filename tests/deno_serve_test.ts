// `export default app` under `deno serve`: Deno.serve calls the app's own
// `fetch` property unbound (docs: README, "deno serve").

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { App } from "../mod.ts";

Deno.test("app.fetch works unbound, as an own property", async () => {
  const app = new App().get("/", () => "unbound");
  const { fetch } = app;
  assertEquals(Object.hasOwn(app, "fetch"), true);
  assertEquals(await (await fetch(new Request("http://localhost/"))).text(), "unbound");
});

Deno.test("deno serve runs `export default app`", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry_deno_serve_" });
  const file = `${dir}/main.ts`;
  await Deno.writeTextFile(
    file,
    `import { App } from "${new URL("../mod.ts", import.meta.url).href}";
const app = new App();
app.get("/users/:id", (c) => ({ id: c.params.id }));
export default app;
`,
  );
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "-A", "--host", "127.0.0.1", "--port", String(port), file],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    let body: unknown = null;
    for (let i = 0; i < 200 && body === null; i++) {
      try {
        body = await (await fetch(`http://127.0.0.1:${port}/users/7`)).json();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assertEquals(body, { id: "7" });
  } finally {
    child.kill("SIGTERM");
    await child.output();
    await Deno.remove(dir, { recursive: true });
  }
});
