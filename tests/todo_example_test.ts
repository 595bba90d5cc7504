// examples/todo_api.ts works end to end: mounting, auth with signed
// cookies, CORS on /api only, the static front end, hooks.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { app } from "../examples/todo_api.ts";
import { serve } from "./_helpers.ts";

Deno.test("examples/todo_api.ts serves its API, cookies, CORS and front end", async () => {
  await using t = serve(app);
  const front = await fetch(`${t.base}/`);
  assertEquals([front.status, (await front.text()).includes("<h1>Todos</h1>")], [200, true]);
  assertEquals(front.headers.get("access-control-allow-origin"), null);

  const anonymous = await fetch(`${t.base}/api/todos`);
  assertEquals([anonymous.status, await anonymous.json()], [401, { error: "sign in first" }]);

  const origin = { origin: "http://localhost:5173" };
  const login = await fetch(`${t.base}/api/auth/login`, {
    method: "POST",
    body: JSON.stringify({ name: "ada" }),
    headers: origin,
  });
  assertEquals(login.status, 200);
  assertEquals(login.headers.get("access-control-allow-credentials"), "true");
  const cookie = login.headers.getSetCookie()[0].split(";")[0];
  await login.body?.cancel();
  const headers = { cookie };

  const made = await fetch(`${t.base}/api/todos`, {
    method: "POST",
    body: JSON.stringify({ title: "write docs" }),
    headers,
  });
  assertEquals(made.status, 201);
  const todo = await made.json();
  const done = await fetch(`${t.base}/api/todos/${todo.id}`, {
    method: "PATCH",
    body: JSON.stringify({ done: true }),
    headers,
  });
  assertEquals((await done.json()).done, true);
  const list = await (await fetch(`${t.base}/api/todos`, { headers })).json();
  assertEquals(list.map((x: { title: string }) => x.title), ["write docs"]);
  const forged = await fetch(`${t.base}/api/todos`, { headers: { cookie: "session=grace.x" } });
  assertEquals(forged.status, 401);
  await forged.body?.cancel();

  const missing = await fetch(`${t.base}/api/nothing`);
  assertEquals([missing.status, await missing.json()], [404, {
    error: "no endpoint GET /api/nothing",
  }]);
  assertEquals(await (await app.request("/api/health")).json(), { ok: true });
});
