// Micro benchmarks of the crossing primitives: the per-batch FFI call
// (pump), the lazy request view over a slot, and response encoding.
// Run with `deno task bench`. Numbers feed docs/crossing.md.

import { native } from "../../lib/_native.ts";
import { Req } from "../../lib/_layout.ts";
import { SlotSource } from "../../lib/_source.ts";
import { Context } from "../../lib/context.ts";
import { Reply } from "../../lib/reply.ts";
import { ReplyWriter } from "../../lib/_encode.ts";

const lib = native();
for (const engine of ["pump", "thread"]) {
  const config = new TextEncoder().encode(JSON.stringify({
    hostname: "127.0.0.1",
    port: 0,
    engine,
    slots: 64,
    routes: [{ method: "GET", path: "/", id: 0 }],
  }));
  const id = lib.ferry_server_start(config, config.length);
  Deno.bench(`ferry_pump(commit 0) with nothing ready, ${engine} engine`, () => {
    lib.ferry_pump(id, 0, 64);
  });
  Deno.bench(`await ferry_wait(0) (nonblocking, returns at once), ${engine} engine`, async () => {
    await lib.ferry_wait(id, 0);
  });
}

// A request record written by hand, as Rust lays it out.
const REQ = 4096, RES = 4096;
const arena = new ArrayBuffer(REQ + RES);
const u8 = new Uint8Array(arena);
const u32 = new Uint32Array(arena);
const blocks = {
  path: "/users/42",
  query: "q=1",
  params: "\x02\0\0\0" + "42",
  headers: "host:localhost\nuser-agent:bench\naccept:*/*\nx-token:abc\n",
  remote: "127.0.0.1:5000",
};
const text = Object.values(blocks).join("");
new TextEncoder().encodeInto(text, u8.subarray(Req.HEADER_BYTES));
u32[Req.METHOD] = 0;
u32[Req.PATH_LEN] = blocks.path.length;
u32[Req.QUERY_LEN] = blocks.query.length;
u32[Req.PARAMS_LEN] = blocks.params.length;
u32[Req.HEADERS_LEN] = blocks.headers.length;
u32[Req.REMOTE_LEN] = blocks.remote.length;
u32[Req.TOTAL] = text.length;
const noOverflow = { readOverflow: () => new Uint8Array() };
const names = ["id"];

Deno.bench("lazy request view: context, one param, one header", () => {
  const c = new Context(new SlotSource(u8, u32, 0, 0, 0, noOverflow), names);
  if (c.params.id !== "42" || c.req.header("x-token") !== "abc") throw new Error("bad decode");
});
Deno.bench("lazy request view: context only (nothing read)", () => {
  new Context(new SlotSource(u8, u32, 0, 0, 0, noOverflow), names);
});

const writer = new ReplyWriter(u8, u32, REQ, RES, { setBody() {} });
const hello = Reply.text("Hello, World!");
const json = new Reply(JSON.stringify({ id: "42", name: "x" }), 200, "application/json");
Deno.bench("encode reply: text/plain 13 bytes", () => writer.write(0, hello));
Deno.bench("encode reply: small JSON + custom header", () => {
  writer.write(0, json.set("x-custom", "1"));
});
Deno.bench("encode reply: 2 KiB non-ASCII text", () => {
  writer.write(0, Reply.text("é".repeat(1024)));
});
