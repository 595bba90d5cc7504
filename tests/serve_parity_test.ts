// serve() against Deno.serve with the same handler: what the handler sees
// of its Request (lazy on Ferry: url, headers, body, signal, clone) and what
// the client gets for every common shape of Response.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { serve, type ServeHandler } from "../mod.ts";
import { eagerRequest, LAZY_REQUESTS, webRequest } from "../lib/_web_request.ts";
import { FAST_RESPONSES, responseParts } from "../lib/_web_response.ts";
import type { RequestSource } from "../lib/_source.ts";

const quiet = { hostname: "127.0.0.1", port: 0, onListen() {} };

/** Runs `handler` on Deno.serve and on serve(); `fn` gets both base URLs. */
async function both(
  handler: ServeHandler,
  fn: (base: string, name: string) => Promise<void>,
): Promise<void> {
  const deno = Deno.serve(quiet, handler);
  const ferry = serve(quiet, handler);
  try {
    await fn(`http://127.0.0.1:${deno.addr.port}`, "Deno.serve");
    await fn(`http://127.0.0.1:${ferry.addr.port}`, "serve()");
  } finally {
    await deno.shutdown();
    await ferry.shutdown();
  }
}

/** The same request to both servers must give the same answer. */
async function same(
  handler: ServeHandler,
  requests: [string, RequestInit?][],
  show: (res: Response) => Promise<unknown> = summary,
): Promise<void> {
  const seen: Record<string, unknown[]> = {};
  await both(handler, async (base, name) => {
    const answers: unknown[] = [];
    for (const [path, init] of requests) {
      answers.push(await show(await fetch(base + path, { redirect: "manual", ...init })));
    }
    seen[name] = answers;
  });
  assertEquals(seen["serve()"], seen["Deno.serve"]);
}

/** Status, body and the headers a handler chose (not date, length, vary...). */
async function summary(res: Response): Promise<unknown> {
  const chosen = [...res.headers].filter(([name]) =>
    name === "content-type" || name === "location" || name.startsWith("x-")
  );
  return {
    status: res.status,
    headers: chosen,
    cookies: res.headers.getSetCookie(),
    body: [...new Uint8Array(await res.arrayBuffer())],
  };
}

Deno.test("serve() hands the handler a Request that reads as Deno.serve's does", async () => {
  const handler: ServeHandler = async (req, info) => {
    // (Deno.serve logs a notice once: its signal also aborts after a
    // successful answer, Ferry's only when the request ends early.)
    const url = new URL(req.url);
    const clone = req.clone();
    let immutable = false;
    try {
      req.headers.set("x-b", "1");
    } catch {
      immutable = true;
    }
    return Response.json({
      instance: req instanceof Request,
      method: req.method,
      path: url.pathname,
      search: url.search,
      host: req.headers.get("host") === url.host,
      xA: req.headers.get("X-A"),
      missing: req.headers.get("x-missing"),
      has: [req.headers.has("x-a"), req.headers.has("x-missing")],
      listed: [...req.headers].filter(([name]) => name.startsWith("x-")),
      immutable,
      bodyNull: req.body === null,
      cloneMethod: clone.method,
      cloneUrl: clone.url === req.url,
      cloneHeader: clone.headers.get("x-a"),
      text: await req.text(),
      cloneText: await clone.text(),
      used: req.bodyUsed,
      signal: req.signal instanceof AbortSignal && !req.signal.aborted,
      remote: info.remoteAddr.hostname,
      keepalive: req.keepalive,
      // Not compared: `redirect`, which Deno.serve's requests leave
      // undefined (Ferry's say "follow", as the Fetch standard does).
    });
  };
  await same(handler, [
    ["/a/b?c=1&d=%20", { headers: { "x-a": "1", "x-z": "2" } }],
    ["/post", { method: "POST", body: "hello", headers: { "x-a": "A" } }],
    ["/put", { method: "PUT", body: new Uint8Array([104, 105]) }],
    ["/empty", { method: "DELETE" }],
  ], (res) => res.json());
});

Deno.test("serve() reads every kind of request body as Deno.serve does", async () => {
  const handler: ServeHandler = async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/json") return Response.json(await req.json());
    if (path === "/bad-json") {
      return req.json().then(
        () => new Response("parsed"),
        (error) => new Response(error.name, { status: 400 }),
      );
    }
    if (path === "/get-json") {
      return req.json().then(() => new Response("parsed"), (e) => new Response(e.name));
    }
    if (path === "/bytes") return new Response(String((await req.bytes()).length));
    if (path === "/buffer") return new Response(String((await req.arrayBuffer()).byteLength));
    if (path === "/blob") return new Response((await req.blob()).type);
    if (path === "/form") return Response.json(Object.fromEntries(await req.formData()));
    if (path === "/stream") {
      let n = 0;
      for await (const chunk of req.body!) n += chunk.length;
      return new Response(String(n));
    }
    if (path === "/copy") {
      const copy = new Request(req);
      return Response.json({
        url: copy.url === req.url,
        method: copy.method,
        header: copy.headers.get("x-a"),
        body: await copy.text(),
        used: req.bodyUsed,
      });
    }
    if (path === "/twice") {
      await req.text();
      return req.text().then(() => new Response("again"), (e) => new Response(e.name));
    }
    return new Response("?", { status: 404 });
  };
  const form = new FormData();
  form.append("a", "1");
  form.append("b", "two");
  const big = new Uint8Array(3 * 1024 * 1024).fill(7);
  await same(handler, [
    ["/json", { method: "POST", body: '{"n":[1,2],"s":"é"}' }],
    ["/bad-json", { method: "POST", body: "{nope" }],
    ["/get-json"],
    ["/bytes", { method: "POST", body: "12345" }],
    ["/buffer", { method: "PATCH", body: "123" }],
    ["/blob", { method: "POST", body: "x", headers: { "content-type": "text/x-thing" } }],
    ["/form", { method: "POST", body: form }],
    ["/form", { method: "POST", body: new URLSearchParams({ q: "a b", r: "&" }) }],
    // Large enough to stream in from Rust, a window at a time.
    ["/stream", { method: "POST", body: big }],
    ["/bytes", { method: "POST", body: big }],
    ["/copy", { method: "POST", body: "copied", headers: { "x-a": "1" } }],
    ["/twice", { method: "POST", body: "once" }],
  ]);
});

Deno.test("serve() sends every common shape of Response as Deno.serve does", async () => {
  const bytes = new Uint8Array([0, 1, 2, 255]);
  const shapes: Record<string, () => Response | Promise<Response>> = {
    "/text": () => new Response("text"),
    "/bytes": () => new Response(bytes),
    "/buffer": () => new Response(bytes.buffer),
    "/json": () => Response.json({ a: 1 }),
    "/json-init": () => Response.json({ a: 1 }, { status: 201, headers: { "x-a": "1" } }),
    "/typed": () => new Response("<p>", { headers: { "content-type": "text/html" } }),
    "/typed-json": () => new Response("{}", { headers: { "content-type": "application/json" } }),
    "/status": () => new Response("made", { status: 201, statusText: "Made" }),
    "/headers": () => {
      const headers = new Headers({ "content-type": "text/plain; charset=utf-8" });
      headers.append("x-d", "1");
      headers.append("x-d", "2");
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2");
      return new Response("h", { headers });
    },
    "/pairs": () => new Response("p", { headers: [["X-Up", "1"], ["x-up", "2"]] }),
    "/late-header": () => {
      const res = new Response("late");
      res.headers.set("x-late", "1");
      return res;
    },
    "/looked-at": () => {
      const res = new Response("looked");
      assert(!res.bodyUsed);
      return res;
    },
    "/no-content": () => new Response(null, { status: 204, headers: { "x-n": "0" } }),
    "/empty": () => new Response(""),
    "/null": () => new Response(null),
    "/redirect": () => Response.redirect("http://example.com/there", 307),
    "/location": () => new Response(null, { status: 302, headers: { location: "/x" } }),
    "/form": () => new Response(new URLSearchParams({ a: "1 2" })),
    "/blob": () => new Response(new Blob(["blob"], { type: "text/x-blob" })),
    "/stream": () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("str"));
            controller.enqueue(new TextEncoder().encode("eam"));
            controller.close();
          },
        }),
        { headers: { "x-s": "1" } },
      ),
    "/unicode": () => new Response("héllo ☃", { headers: { "x-u": "1" } }),
    "/later": async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return new Response("later", { status: 202, headers: { "x-l": "1" } });
    },
  };
  const handler: ServeHandler = (req) => shapes[new URL(req.url).pathname]();
  await same(handler, Object.keys(shapes).map((path) => [path]));
});

Deno.test("serve()'s request signal aborts when the client goes away", async () => {
  let aborted!: () => void;
  const gone = new Promise<void>((resolve) => aborted = resolve);
  const server = serve(quiet, (req) => {
    req.signal.addEventListener("abort", () => aborted());
    return new Promise<Response>(() => {}); // never answers
  });
  const client = new AbortController();
  const pending = fetch(`http://127.0.0.1:${server.addr.port}/`, { signal: client.signal })
    .catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 50));
  client.abort();
  await pending;
  await gone;
  await server.shutdown({ deadlineMs: 0 });
});

Deno.test("the lazy Request and the plain one read the same", async () => {
  assert(LAZY_REQUESTS, "Deno's request internals were not recognised: serve() is slow");
  const body = new TextEncoder().encode('{"a":1}');
  const lines: [string, string][] = [["host", "h:1"], ["x-a", "1"], ["x-b", "2"]];
  const parts = {
    method: "POST",
    url: "http://h:1/p?q=1",
    headers: new Headers(lines),
    signal: new AbortController().signal,
    header: (name: string) => lines.find(([n]) => n === name.toLowerCase())?.[1],
  };
  const src = { bodyStream: () => null, body: () => body } as unknown as RequestSource;
  const read = async (req: Request) => ({
    method: req.method,
    url: req.url,
    headers: [...req.headers],
    one: req.headers.get("x-b"),
    json: await req.clone().json(),
    text: await req.text(),
  });
  assertEquals(await read(webRequest(parts, src)), await read(eagerRequest(parts, src)));
});

Deno.test("responseParts() agrees with the public Response API", async () => {
  assert(FAST_RESPONSES, "Deno's response internals were not recognised: serve() is slow");
  const make: (() => Response)[] = [
    () => new Response("a"),
    () => new Response(new Uint8Array([1])),
    () => Response.json([1], { status: 202 }),
    () => new Response("b", { headers: { "x-a": "1", "content-type": "t/x" } }),
    () => {
      const res = new Response("c");
      res.headers.append("x-c", "1");
      return res;
    },
    () => new Response(null, { status: 404, headers: [["x-d", "1"], ["x-d", "2"]] }),
  ];
  for (const fn of make) {
    const parts = responseParts(fn())!;
    assert(parts !== undefined, fn.toString());
    const res = fn();
    const joined = new Headers();
    for (const [name, value] of parts.headers) joined.append(name, value);
    assertEquals([...joined], [...res.headers]);
    assertEquals(parts.status, res.status);
    const body = parts.body === null
      ? []
      : [...(typeof parts.body === "string" ? new TextEncoder().encode(parts.body) : parts.body)];
    assertEquals(body, [...new Uint8Array(await res.arrayBuffer())]);
  }
  // Bodies it cannot take whole: a stream, and one already read.
  assertEquals(responseParts(new Response(new ReadableStream())), undefined);
  const read = new Response("d", { headers: { "x-e": "1" } });
  await read.text();
  assertEquals(responseParts(read), undefined);
  const fast = new Response("e");
  await fast.text();
  assertEquals(responseParts(fast), undefined);
});
