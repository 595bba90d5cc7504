// The rival: Deno.serve answering the same bytes as bench/engines/app.ts.
Deno.serve(
  { port: Number(Deno.env.get("PORT") ?? 8000), hostname: "127.0.0.1", onListen() {} },
  () => new Response("Hello, World!", { headers: { "content-type": "text/plain; charset=utf-8" } }),
);
