/**
 * Idle keep-alive connections on the relay host's HTTPS server (enrollment, audit witness), so that a
 * drain can close them: the server is fed sockets by the TLS layer and never listens itself, so Node's
 * own `closeIdleConnections()` has no list to work on. While the node drains, every response also
 * carries `Connection: close`. WebSocket upgrades (tunnels) are never counted idle.
 *
 * @example
 * const closeIdle = trackIdleRelayHostConnections(https.server, () => ctx.draining);
 * closeIdle(); // during a drain
 */
import type http from 'node:http';
import type { Socket } from 'node:net';

export function trackIdleRelayHostConnections(server: http.Server, draining: () => boolean): () => void {
  const idle = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    idle.add(socket);
    socket.once('close', () => idle.delete(socket));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    idle.delete(req.socket);
    if (draining()) res.shouldKeepAlive = false;
    res.once('finish', () => {
      if (!req.socket.destroyed && !draining()) idle.add(req.socket);
    });
  });
  server.on('upgrade', (req: http.IncomingMessage) => idle.delete(req.socket));
  return () => {
    for (const socket of idle) socket.destroy();
    idle.clear();
  };
}
