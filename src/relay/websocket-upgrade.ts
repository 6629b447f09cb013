/**
 * Tunnels over WebSocket (`GET /v1/tunnel` upgrade on the relay-host HTTPS), for connectors that can
 * only leave their network through an HTTP proxy: Host/Origin check, connector certificate
 * authentication, then the same tunnel handshake as over TLS.
 */
import http from 'node:http';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { encodeRejection, TUNNEL_WEBSOCKET_PATH, TunnelCodes } from '../tunnel/protocol.js';
import { authenticateConnector } from './connector-auth.js';
import { countRefusal, peerOf, type RelayContext } from './relay-context.js';
import type { RelayHostHttps } from './relay-host-https.js';
import { setUpTunnel } from './tunnel-handshake.js';

/** Serves WebSocket tunnel upgrades on the relay-host HTTPS; returns the WebSocket server (for shutdown). */
export function serveWebSocketTunnels(ctx: RelayContext, https: RelayHostHttps): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: ctx.limits.websocketMaxPayload,
    perMessageDeflate: false,
  });
  https.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refusal = https.hostRefusal(req);
    if (refusal !== undefined) {
      countRefusal(ctx, socket, 'relay_host_refused');
      writeUpgradeError(socket, 403, { code: 'AIRLOCK_RELAY_HOST_NOT_ALLOWED', message: refusal });
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path !== TUNNEL_WEBSOCKET_PATH || ctx.closing) {
      writeUpgradeError(socket, ctx.closing ? 503 : 404, {
        code: ctx.closing ? TunnelCodes.RELAY_CLOSING : 'AIRLOCK_RELAY_NOT_FOUND',
        message: ctx.closing ? 'relay is shutting down' : `no WebSocket endpoint at ${path}`,
      });
      return;
    }
    upgrade(ctx, wss, req, socket, head);
  });
  return wss;
}

function upgrade(
  ctx: RelayContext,
  wss: WebSocketServer,
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
) {
  const tlsSocket = req.socket as TLSSocket;
  authenticateConnector(tlsSocket, ctx.store)
    .then((auth) => {
      if (!auth.ok) {
        countRefusal(ctx, tlsSocket, 'tunnel_refused');
        ctx.logger.debug({ code: auth.rejection.code, peer: peerOf(tlsSocket) }, 'tunnel refused');
        writeUpgradeError(socket, 403, auth.rejection);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const duplex = createWebSocketStream(ws);
        duplex.on('error', () => duplex.destroy());
        void setUpTunnel(ctx, auth, duplex, 'websocket', peerOf(tlsSocket)).catch(() => duplex.destroy());
      });
    })
    .catch((err: unknown) => {
      ctx.logger.error({ err: (err as Error).message }, 'tunnel authentication failed');
      writeUpgradeError(socket, 500, { code: 'AIRLOCK_RELAY_INTERNAL', message: 'relay failed' });
    });
}

function writeUpgradeError(
  socket: net.Socket,
  status: number,
  body: { code: string; message: string },
): void {
  if (socket.destroyed) return;
  const text = encodeRejection(body);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${text.length}\r\nConnection: close\r\n\r\n${text.toString()}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}
