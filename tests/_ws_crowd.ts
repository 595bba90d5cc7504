// A crowd of raw WebSocket clients in a process of its own, so that a test
// can hold more sockets than one process has file descriptors for both
// ends. Run by websocket_test.ts:
//
//   deno run -A tests/_ws_crowd.ts PORT PATH COUNT EXPECTED
//
// Opens COUNT sockets to PATH, prints `open COUNT` once all are open, then
// waits (at most 30 s) for each socket's first message, prints
// `got N` (how many received exactly EXPECTED) and closes them all.

import { connect, pooled, type RawSocket } from "./_ws_client.ts";

const [port, path, count, expected] = [
  Number(Deno.args[0]),
  Deno.args[1],
  Number(Deno.args[2]),
  Deno.args[3],
];

const sockets: RawSocket[] = await pooled(
  Array.from({ length: count }, (_, i) => i),
  64,
  () => connect(port, path, { readBytes: 512, timeoutMs: 20_000 }),
);
console.log(`open ${sockets.length}`);

let got = 0;
const timer = setTimeout(() => {
  console.log(`got ${got}`);
  Deno.exit(1);
}, 30_000);
await Promise.all(sockets.map(async (socket) => {
  try {
    if (await socket.message() === expected) got++;
  } catch { /* counted as missing */ }
}));
clearTimeout(timer);
console.log(`got ${got}`);
for (const socket of sockets) socket.abort();
