// The todos resource, mounted at /api/todos; every route needs a user.

import { App, HttpError } from "../../mod.ts";
import type { Todo, TodoEnv } from "./env.ts";
import { requireUser } from "./auth.ts";

const store = new Map<number, Todo>();
let nextId = 1;

/** CRUD for the signed-in user's todos. */
export const todos: App<TodoEnv> = new App<TodoEnv>();

todos.before(requireUser);

todos.get("/", (c) => [...store.values()].filter((t) => t.owner === c.get("user").id));

todos.post("/", async (c) => {
  const { title } = await c.req.json() as { title?: string };
  if (typeof title !== "string" || title === "") throw new HttpError(400, "title is required");
  const todo: Todo = { id: nextId++, title, done: false, owner: c.get("user").id };
  store.set(todo.id, todo);
  return c.json(todo, 201);
});

todos.patch("/:id", async (c): Promise<Todo> => {
  const todo = mine(Number(c.params.id), c.get("user").id);
  const { done } = await c.req.json() as { done?: boolean };
  if (typeof done === "boolean") todo.done = done;
  return todo;
});

todos.delete("/:id", (c) => {
  store.delete(mine(Number(c.params.id), c.get("user").id).id);
});

function mine(id: number, owner: string): Todo {
  const todo = store.get(id);
  if (todo === undefined || todo.owner !== owner) throw new HttpError(404, "no such todo");
  return todo;
}
