// Compile-time checks for issue #15 part 6, covered by `deno task check`
// (deno check tests/). Each @ts-expect-error line must stay an error: if a
// typo stops being one, deno check fails with "Unused @ts-expect-error".

import { App, type Env, type Params } from "../mod.ts";

interface User {
  id: string;
  name: string;
}

interface Todo {
  id: number;
  title: string;
  done: boolean;
}

type AppEnv = { Variables: { user: User; started: number } } & Env;

const app = new App<AppEnv>();

app.before((c) => {
  c.set("user", { id: "1", name: "ada" });
  c.set("started", performance.now());
  // @ts-expect-error: "usr" is not a declared variable
  c.set("usr", { id: "1", name: "ada" });
  // @ts-expect-error: started is a number
  c.set("started", "now");
});

app.get("/users/:id/files/*path", (c) => {
  const id: string = c.params.id;
  const path: string = c.params.path;
  // @ts-expect-error: the pattern has no :idd
  c.params.idd;
  const user: User = c.get("user");
  // @ts-expect-error: no variable "usr"
  c.get("usr");
  return { id, path, user: user.name };
});

// A handler may return an interface-typed value (JSON).
const todos: Todo[] = [{ id: 1, title: "write tests", done: false }];
app.get("/todos/:n", (c): Todo => todos[Number(c.params.n)]);
app.get("/todos", () => todos);

// Route options see the same params.
app.get("/a/:x", (c) => c.params.x, {
  before: [(c) => {
    // @ts-expect-error: the pattern has no :y
    c.params.y;
  }],
});

const p: Params<"/a/:b/*c"> = { b: "1", c: "2" };
// @ts-expect-error: Params needs every name
const q: Params<"/a/:b"> = {};

// An untyped app keeps the loose forms.
const loose = new App();
loose.get("/x", (c) => {
  c.set("anything", 1);
  const n = c.get<number>("anything");
  return { n, params: c.params };
});

export { app, loose, p, q };
