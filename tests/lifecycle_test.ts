import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { App } from "../mod.ts";
import { serve } from "./_helpers.ts";

Deno.test("onStartup() finishes before the first request is accepted", async () => {
  const app = new App();
  let state = "unset";
  app.onStartup(async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = "ready";
  });
  app.get("/", () => state);
  await using t = serve(app);
  // Sent before the hook finished: the kernel holds it until Rust accepts.
  assertEquals(await (await fetch(`${t.base}/`)).text(), "ready");
  await t.server.ready;
});

Deno.test("onShutdown() runs after in-flight requests finished", async () => {
  const app = new App();
  const trace: string[] = [];
  app.get("/slow", async () => {
    await new Promise((resolve) => setTimeout(resolve, 150));
    trace.push("handler");
    return "done";
  });
  app.onShutdown(() => {
    trace.push("hook");
  });
  const t = serve(app);
  const pending = fetch(`${t.base}/slow`).then((r) => r.text());
  await new Promise((resolve) => setTimeout(resolve, 30));
  await t.server.shutdown();
  assertEquals(await pending, "done");
  assertEquals(trace, ["handler", "hook"]);
  assertEquals(t.server.stats().slotsInUse, 0);
});

Deno.test("a throwing onStartup() rejects server.ready and shuts down", async () => {
  const app = new App();
  app.onStartup(() => {
    throw new Error("no database");
  });
  const server = app.listen({ hostname: "127.0.0.1", port: 0 });
  await rejects(server.ready, /no database/);
  await server.finished;
});
