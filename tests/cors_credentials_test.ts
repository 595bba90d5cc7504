// cors() with credentials: only listed origins are ever allowed (issue #11,
// item 5). Echoing any Origin with `Access-Control-Allow-Credentials: true`
// lets every site read a logged-in user's responses.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { App, cors, NativeMiddleware } from "../mod.ts";
import { serve } from "./_helpers.ts";

const ALLOWED = "https://app.test";

function credentialsApp(): App {
  const app = new App().use(cors({ origin: [ALLOWED, "https://admin.test"], credentials: true }));
  app.get("/me", () => "secret profile");
  return app;
}

Deno.test("cors() refuses credentials with the origin * and names the fix", () => {
  for (const origin of [undefined, "*", ["https://a.test", "*"]]) {
    throws(
      () => cors({ origin, credentials: true }),
      (e: Error) => e instanceof TypeError && /list the allowed origins/.test(e.message),
      String(origin),
    );
  }
  // Without credentials, "*" stays allowed.
  cors({ origin: "*" });
});

Deno.test("listen() refuses * with credentials even when cors() is bypassed", () => {
  const settings = {
    origin: ["*"],
    methods: ["GET"],
    allowHeaders: [],
    exposeHeaders: [],
    credentials: true,
    maxAge: null,
  };
  const app = new App().use(new NativeMiddleware("cors", settings));
  throws(() => app.listen({ hostname: "127.0.0.1", port: 0 }), /list the allowed origins/);
});

Deno.test("cors() with credentials echoes listed origins only, never null", async () => {
  await using t = serve(credentialsApp());
  const ok = await fetch(`${t.base}/me`, { headers: { origin: ALLOWED } });
  assertEquals(await ok.text(), "secret profile");
  assertEquals(ok.headers.get("access-control-allow-origin"), ALLOWED);
  assertEquals(ok.headers.get("access-control-allow-credentials"), "true");
  assertEquals(ok.headers.get("vary"), "Origin");
  for (
    const origin of ["https://evil.test", "null", "https://app.test.evil.test", "HTTPS://APP.TEST"]
  ) {
    const res = await fetch(`${t.base}/me`, { headers: { origin } });
    await res.body?.cancel();
    assertEquals(res.headers.get("access-control-allow-origin"), null, origin);
    assertEquals(res.headers.get("access-control-allow-credentials"), null, origin);
    assertEquals(res.headers.get("vary"), "Origin", origin);
  }
});

Deno.test("cors() with credentials answers preflights for listed origins only", async () => {
  await using t = serve(credentialsApp());
  const preflight = async (origin: string) => {
    const res = await fetch(`${t.base}/me`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET" },
    });
    await res.body?.cancel();
    return res;
  };
  const ok = await preflight(ALLOWED);
  assertEquals(ok.status, 204);
  assertEquals(ok.headers.get("access-control-allow-origin"), ALLOWED);
  assertEquals(ok.headers.get("access-control-allow-credentials"), "true");
  assertEquals(ok.headers.get("vary"), "Origin");
  for (const origin of ["https://evil.test", "null"]) {
    const res = await preflight(origin);
    assertEquals(res.status, 204, origin);
    assertEquals(res.headers.get("access-control-allow-origin"), null, origin);
    assertEquals(res.headers.get("access-control-allow-credentials"), null, origin);
    assertEquals(res.headers.get("access-control-allow-methods"), null, origin);
  }
});

Deno.test("cors() allows the origin null only when it is listed", async () => {
  const listed = new App().use(cors({ origin: ["https://app.test", "null"] }));
  listed.get("/", () => "hi");
  const unlisted = new App().use(cors({ origin: ["https://app.test"] }));
  unlisted.get("/", () => "hi");
  const any = new App().use(cors());
  any.get("/", () => "hi");
  await using a = serve(listed);
  await using b = serve(unlisted);
  await using c = serve(any);
  const allowOf = async (base: string) => {
    const res = await fetch(`${base}/`, { headers: { origin: "null" } });
    await res.body?.cancel();
    return res.headers.get("access-control-allow-origin");
  };
  assertEquals(await allowOf(a.base), "null");
  assertEquals(await allowOf(b.base), null);
  // "*" without credentials: the answer is "*", which no credentialed request may use.
  assertEquals(await allowOf(c.base), "*");
});
