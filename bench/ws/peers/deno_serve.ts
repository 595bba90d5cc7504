/**
 * WebSocket benchmark peer: `Deno.serve` with `Deno.upgradeWebSocket`, the
 * way a Deno user writes it. `/ws/echo` echoes every message;
 * `/ws/broadcast` sockets join a Set; every message of a `/ws/publish`
 * socket is sent to each socket of the Set. Env: `PORT`.
 *
 * @module
 */

const subscribers = new Set<WebSocket>();

function echo(socket: WebSocket): void {
  socket.onmessage = (e) => socket.send(e.data);
}

function subscribe(socket: WebSocket): void {
  socket.onopen = () => subscribers.add(socket);
  socket.onclose = () => subscribers.delete(socket);
}

function publisher(socket: WebSocket): void {
  socket.onmessage = (e) => {
    for (const s of subscribers) {
      if (s.readyState === WebSocket.OPEN) s.send(e.data);
    }
  };
}

const ROUTES: Record<string, (socket: WebSocket) => void> = {
  "/ws/echo": echo,
  "/ws/broadcast": subscribe,
  "/ws/publish": publisher,
};

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), onListen() {} }, (req) => {
  const start = req.url.indexOf("/", req.url.indexOf("://") + 3);
  const route = ROUTES[req.url.slice(start)];
  if (!route) return new Response("Not Found", { status: 404 });
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("expected a WebSocket upgrade", { status: 426 });
  }
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onerror = () => {}; // a client that resets its socket is not news
  route(socket);
  return response;
});
