// Issue #15, part 2: cookies.

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  throws as assertThrows,
} from "node:assert/strict";
import { App } from "../mod.ts";
import { serializeCookie } from "../lib/cookie.ts";
import { serve } from "./_helpers.ts";

function cookieApp(): App {
  const app = new App();
  app.get("/read", (c) => ({ all: c.cookie(), theme: c.cookie("theme") ?? null }));
  app.get("/set", (c) => {
    c.setCookie("a", "1", { httpOnly: true, sameSite: "Lax", maxAge: 60 });
    c.setCookie("b", "2", { secure: true, sameSite: "None", partitioned: true, path: "/x" });
    c.deleteCookie("old");
    return "ok";
  });
  app.get("/two-headers", (c) => {
    c.header("set-cookie", "x=1");
    c.header("set-cookie", "y=2");
    c.header("link", "</a>; rel=preload", { append: true });
    c.header("link", "</b>; rel=preload", { append: true });
    c.header("x-one", "first");
    c.header("x-one", "second");
    return "ok";
  });
  app.get("/in-after", () => "ok", {
    after: [(c) => void c.setCookie("late", "1")],
  });
  app.get("/bad", (c) => {
    c.setCookie("s", "has space");
    return "never";
  });
  const secret = ["new-secret", "old-secret"];
  app.get("/sign", async (c) => {
    await c.setSignedCookie("user", "42", secret, { httpOnly: true });
    return "ok";
  });
  app.get("/sign-old", async (c) => {
    await c.setSignedCookie("user", "7", "old-secret");
    return "ok";
  });
  app.get("/whoami", async (c) => ({ user: (await c.signedCookie("user", secret)) ?? null }));
  return app;
}

Deno.test("c.setCookie() sends several Set-Cookie lines over the network and app.fetch", async () => {
  const app = cookieApp();
  await using t = serve(app);
  for (const res of [await fetch(`${t.base}/set`), await app.request("/set")]) {
    const cookies = res.headers.getSetCookie();
    assertEquals(cookies, [
      "a=1; Max-Age=60; Path=/; HttpOnly; SameSite=Lax",
      "b=2; Path=/x; Secure; SameSite=None; Partitioned",
      "old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
    ]);
    await res.body?.cancel();
  }
});

Deno.test("c.header() appends set-cookie and { append: true }, replaces others", async () => {
  const app = cookieApp();
  await using t = serve(app);
  for (const res of [await fetch(`${t.base}/two-headers`), await app.request("/two-headers")]) {
    assertEquals(res.headers.getSetCookie(), ["x=1", "y=2"]);
    assertEquals(res.headers.get("link"), "</a>; rel=preload, </b>; rel=preload");
    assertEquals(res.headers.get("x-one"), "second");
    await res.body?.cancel();
  }
});

Deno.test("c.setCookie() in after-middleware reaches the response", async () => {
  const app = cookieApp();
  await using t = serve(app);
  const res = await fetch(`${t.base}/in-after`);
  assertEquals(res.headers.getSetCookie(), ["late=1; Path=/"]);
  await res.body?.cancel();
});

Deno.test("c.cookie() reads one cookie or all", async () => {
  const app = cookieApp();
  await using t = serve(app);
  const res = await fetch(`${t.base}/read`, { headers: { cookie: 'theme=dark; id="7"; theme=x' } });
  assertEquals(await res.json(), { all: { theme: "dark", id: "7" }, theme: "dark" });
  assertEquals(await (await app.request("/read")).json(), { all: {}, theme: null });
});

Deno.test("c.setCookie() refuses an invalid value with a TypeError (a 500 naming it)", async () => {
  const app = cookieApp();
  await using t = serve(app);
  const original = console.error;
  console.error = () => {};
  try {
    const res = await fetch(`${t.base}/bad`);
    assertEquals(res.status, 500);
    await res.body?.cancel();
  } finally {
    console.error = original;
  }
  assertThrows(() => serializeCookie("s", "a b"), TypeError);
  assertThrows(() => serializeCookie("bad name", "x"), /Cookie name "bad name" is not valid/);
  assertThrows(() => serializeCookie("s", "x;y"), TypeError);
  assertThrows(() => serializeCookie("s", "é"), TypeError);
  assertThrows(() => serializeCookie("s", "x", { sameSite: "None" }), /needs secure/);
  assertThrows(() => serializeCookie("__Host-s", "x", { secure: true, path: "/a" }), /__Host-/);
  assertThrows(() => serializeCookie("__Secure-s", "x"), /__Secure-/);
  assertThrows(() => serializeCookie("s", "x", { path: "/a;b" }), /path/);
  assertEquals(serializeCookie("s", '"quoted"'), 's="quoted"; Path=/');
});

Deno.test("signed cookies verify with any secret, sign with the first, and refuse forgeries", async () => {
  const app = cookieApp();
  await using t = serve(app);
  const signed = (await fetch(`${t.base}/sign`)).headers.getSetCookie()[0];
  assertMatch(signed, /^user=42\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly$/);
  const value = signed.split(";")[0].slice("user=".length);
  const who = async (cookie: string) =>
    (await (await fetch(`${t.base}/whoami`, { headers: { cookie } })).json()).user;
  assertEquals(await who(`user=${value}`), "42");
  const old = (await app.request("/sign-old")).headers.getSetCookie()[0].split(";")[0];
  assertEquals(await who(old), "7", "an old secret still verifies");
  assertEquals(await who(`user=43.${value.split(".")[1]}`), null, "tampered value");
  assertEquals(await who("user=42"), null, "unsigned");
  assertEquals(await who("user=42.AAAA"), null, "short signature");
});

Deno.test("c.cookie() skips malformed pairs and decodes values", async () => {
  const app = new App().get("/", (c) => c.cookie());
  const cookie = 'a=1; =x; b; c=3=4; d="q"; e=a%20b';
  const res = await app.request("/", { headers: { cookie } });
  assertEquals(await res.json(), { a: "1", c: "3=4", d: "q", e: "a b" });
});

Deno.test("c.setSignedCookie() signs any string (percent-encoded)", async () => {
  const app = new App();
  app.get("/set", async (c) => void await c.setSignedCookie("s", "a b;%/é", "k"));
  app.get("/get", async (c) => ({ s: (await c.signedCookie("s", "k")) ?? null }));
  const set = (await app.request("/set")).headers.getSetCookie()[0].split(";")[0];
  const res = await app.request("/get", { headers: { cookie: set } });
  assertEquals(await res.json(), { s: "a b;%/é" });
});
