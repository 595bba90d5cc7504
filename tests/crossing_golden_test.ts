// The TypeScript half of the golden response records: ReplyWriter
// (lib/_encode.ts) must write, byte for byte, the records in
// tests/golden/response_records.json, which ffi/src/golden.rs makes from the
// same replies and checks `from_record` decodes back to them. Together the
// two tests keep the encoder and the fuzzed Rust decoder from drifting.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ReplyWriter } from "../lib/_encode.ts";
import { Reply } from "../lib/reply.ts";

interface GoldenCase {
  name: string;
  responseSlotBytes: number;
  reply: {
    status: number;
    headers: [string, string][];
    body: { kind: "none" } | { kind: "text"; text: string } | { kind: "bytes"; hex: string };
  };
  record: string;
  outside: string | null;
}

const golden: { cases: GoldenCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("./golden/response_records.json", import.meta.url)),
);

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text: string) =>
  new Uint8Array(text.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);

/** What the untouched part of the arena holds, to see nothing else is written. */
const FILL = 0xaa;
/** A request half before the response half, as in a real slot. */
const REQ_BYTES = 64;

function replyOf(c: GoldenCase): Reply {
  const body = c.reply.body;
  const reply = new Reply(
    body.kind === "text" ? body.text : body.kind === "bytes" ? unhex(body.hex) : null,
    c.reply.status,
  );
  for (const [name, value] of c.reply.headers) reply.set(name, value);
  return reply;
}

Deno.test("ReplyWriter writes the golden response records byte for byte", () => {
  assertEquals(golden.cases.length > 10, true);
  for (const c of golden.cases) {
    // Two slots, answering in the second, so the slot offset is exercised.
    const slotBytes = REQ_BYTES + c.responseSlotBytes;
    const arena = new ArrayBuffer(2 * slotBytes);
    const u8 = new Uint8Array(arena).fill(FILL);
    let outside: Uint8Array | null = null;
    const writer = new ReplyWriter(u8, new Uint32Array(arena), REQ_BYTES, c.responseSlotBytes, {
      setBody(slot, body) {
        assertEquals(slot, 1, c.name);
        assertEquals(outside, null, `${c.name}: one ferry_set_body per reply`);
        outside = body.slice();
      },
    });
    writer.write(1, replyOf(c));
    const start = slotBytes + REQ_BYTES;
    const record = u8.subarray(start, start + c.record.length / 2);
    assertEquals(hex(record), c.record, `${c.name}: record`);
    assertEquals(outside === null ? null : hex(outside), c.outside, `${c.name}: outside bytes`);
    // Past the record the response half is scratch (a text body that does
    // not fit is partly encoded there before it goes outside); the request
    // half and the other slot must stay untouched.
    const untouched = [...u8.subarray(0, start), ...u8.subarray(start + c.responseSlotBytes)];
    assertEquals(untouched.every((b) => b === FILL), true, `${c.name}: wrote outside its slot`);
  }
});
