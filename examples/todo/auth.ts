// Sessions in a signed cookie: POST /login sets it, the `requireUser`
// before-middleware reads it on every /api/todos request.

import { App, type Before, HttpError } from "../../mod.ts";
import { SESSION_KEYS, type TodoEnv, type User } from "./env.ts";

const USERS: Record<string, User> = {
  ada: { id: "u1", name: "ada" },
  grace: { id: "u2", name: "grace" },
};

/** Answers 401 unless a valid session cookie names a user, else sets `user`. */
export const requireUser: Before<TodoEnv> = async (c) => {
  const name = await c.signedCookie("session", SESSION_KEYS);
  const user = name === undefined ? undefined : USERS[name];
  if (user === undefined) throw new HttpError(401, "sign in first");
  c.set("user", user);
};

/** POST /login {"name"}, POST /logout. */
export const auth: App<TodoEnv> = new App<TodoEnv>();

auth.post("/login", async (c) => {
  const { name } = await c.req.json() as { name?: string };
  if (name === undefined || !(name in USERS)) throw new HttpError(403, "unknown user");
  await c.setSignedCookie("session", name, SESSION_KEYS, {
    httpOnly: true,
    sameSite: "Lax",
    maxAge: 60 * 60 * 8,
  });
  return { user: USERS[name] };
});

auth.post("/logout", (c) => {
  c.deleteCookie("session");
  return { ok: true };
});
