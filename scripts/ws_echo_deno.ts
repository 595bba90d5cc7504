// The reference peer of `deno task conformance:ws --peer deno_serve`: a
// Deno.serve + Deno.upgradeWebSocket echo server on 127.0.0.1:$PORT. A
// known-good server, so a clean result here shows the pipeline works.

const port = Number(Deno.env.get("PORT") ?? 9001);
Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (request) => {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("expected a WebSocket upgrade", { status: 426 });
  }
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => socket.send(event.data);
  return response;
});
