/**
 * TLS termination for the relay host (`relay.<domain>`): connectors present their client certificate
 * here. ALPN `airlock-tunnel/1` → a tunnel over TLS (tunnel-handshake.ts); anything else → the
 * relay-host HTTPS (enrollment, connector list, audit witness, WebSocket tunnels).
 */
import tls from 'node:tls';
import { TUNNEL_ALPN } from '../tunnel/protocol.js';
import type { RelayContext } from './relay-context.js';
import type { RelayHostHttps } from './relay-host-https.js';
import { acceptTlsTunnel } from './tunnel-handshake.js';

export function createRelayHostTls(ctx: RelayContext, https: RelayHostHttps): tls.Server {
  const { identity, logger } = ctx;
  const server = tls.createServer({
    key: identity.server.keyPem,
    cert: identity.server.certPem,
    ca: [identity.connectorCa.certPem],
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: [TUNNEL_ALPN, 'http/1.1'],
    handshakeTimeout: ctx.limits.tlsHandshakeTimeoutMs,
    minVersion: 'TLSv1.2',
  });
  server.on('tlsClientError', (err, socket) => {
    logger.debug({ err: err.message }, 'relay host TLS handshake failed');
    socket.destroy();
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    socket.on('error', (err) => logger.debug({ err: err.message }, 'relay host socket error'));
    if (socket.alpnProtocol === TUNNEL_ALPN) {
      void acceptTlsTunnel(ctx, socket).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'tunnel setup failed');
        socket.destroy();
      });
    } else {
      https.deadlines.watch(socket);
      https.server.emit('connection', socket);
    }
  });
  return server;
}
