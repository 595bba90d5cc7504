// examples/chat.ts works end to end: a nameless visitor is refused by
// `upgrade`, two members of a room hear each other through the room's
// topic, a member of another room does not, and a leaver is announced.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { app, attach } from "../examples/chat.ts";
import { serve } from "./_helpers.ts";

/** A client that collects text messages; `next(n)` waits for the n-th. */
async function join(base: string, room: string, name: string) {
  const url = `${base.replace("http", "ws")}/rooms/${room}?name=${name}`;
  const socket = new WebSocket(url);
  const got: string[] = [];
  const waiters: (() => void)[] = [];
  socket.onmessage = (e) => {
    got.push(String(e.data));
    waiters.splice(0).forEach((w) => w());
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  const next = async (n: number) => {
    for (let i = 0; i < 200 && got.length < n; i++) {
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return got.slice(0, n);
  };
  const closed = new Promise((resolve) => socket.onclose = resolve);
  return { socket, got, next, closed };
}

Deno.test("examples/chat.ts: rooms, refusals, joins and leaves", async () => {
  await using t = serve(app);
  attach(t.server);
  // A handshake's headers: a plain GET to a WebSocket route gets 426 from Rust.
  const headers = {
    connection: "upgrade",
    upgrade: "websocket",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  };
  const plain = await fetch(`${t.base}/rooms/lobby?name=ada`);
  assertEquals([plain.status, plain.headers.get("upgrade")], [426, "websocket"]);
  await plain.body?.cancel();
  const refused = await fetch(`${t.base}/rooms/lobby`, { headers });
  assertEquals([refused.status, await refused.text()], [
    401,
    "pick a name: letters, digits, - or _",
  ]);
  const bad = await fetch(`${t.base}/rooms/no%20spaces?name=ada`, { headers });
  assertEquals([bad.status, await bad.text()], [400, "bad room name"]);

  const ada = await join(t.base, "lobby", "ada");
  assertEquals(await ada.next(1), ["* welcome to lobby, ada"]);
  const bob = await join(t.base, "lobby", "bob");
  const eve = await join(t.base, "attic", "eve");
  assertEquals(await bob.next(1), ["* welcome to lobby, bob"]);
  assertEquals(await ada.next(2), ["* welcome to lobby, ada", "* bob joined"]);
  bob.socket.send("hi ada");
  assertEquals((await ada.next(3))[2], "bob: hi ada");
  assertEquals((await bob.next(2))[1], "bob: hi ada");
  bob.socket.close();
  await bob.closed;
  assertEquals((await ada.next(4))[3], "* bob left");
  assertEquals(await eve.next(1), ["* welcome to attic, eve"]);
  assertEquals(eve.got.length, 1);
  ada.socket.close();
  eve.socket.close();
  await Promise.all([ada.closed, eve.closed]);
});
