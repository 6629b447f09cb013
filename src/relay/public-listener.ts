/**
 * The one public port. Per connection, in order: the global cap (`maxConnections`, the listener's own;
 * Node drops what is over it and the relay counts the drops), the per-source cap BEFORE the ClientHello
 * (agent-admission.ts), the ClientHello read with its time and size bounds, then by SNI: the relay host
 * (its own per-source cap, then TLS termination) or a tenant (agent-router.ts), else a TLS alert.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { TlsAlert } from '../net/client-hello.js';
import { readClientHello } from '../net/read-client-hello.js';
import { routeAgent } from './agent-router.js';
import { countRefusal, type RelayContext, refuse } from './relay-context.js';
import { SourceConnectionLimit } from './source-connection-limit.js';

/** Creates the public listener (not yet listening). */
export function createPublicListener(ctx: RelayContext, relayHostTls: tls.Server): net.Server {
  const relayHostPerSource = new SourceConnectionLimit(ctx.limits.maxRelayHostConnectionsPerSource);
  const onConnection = async (socket: net.Socket): Promise<void> => {
    ctx.sockets.add(socket);
    socket.on('close', () => ctx.sockets.delete(socket));
    socket.on('error', (err) => ctx.logger.debug({ err: err.message }, 'connection error'));
    if (ctx.closing) return void socket.destroy();
    if (!ctx.admission.admitSource(socket)) {
      // Before the ClientHello: no TLS alert to send yet, just close.
      countRefusal(ctx, socket, 'source_connection_limit');
      return void socket.destroy();
    }
    socket.setNoDelay(true);
    const { limits } = ctx;
    const hello = await readClientHello(socket, {
      timeoutMs: limits.clientHelloTimeoutMs,
      maxBytes: limits.maxClientHelloBytes,
    });
    if (ctx.closing) return refuse(ctx, socket, 'relay_closing');
    if (hello.kind === 'closed') {
      ctx.metrics.routingFailures.inc({ reason: 'hello_closed' });
      return void socket.destroy();
    }
    if (hello.kind === 'timeout') return refuse(ctx, socket, 'hello_timeout', TlsAlert.handshake_failure);
    if (hello.kind === 'invalid') return refuse(ctx, socket, 'invalid_hello', TlsAlert.handshake_failure);
    const sni = hello.sni;
    if (sni === undefined) return refuse(ctx, socket, 'no_sni', TlsAlert.unrecognized_name);
    if (sni !== ctx.relayHost) return routeAgent(ctx, socket, sni, hello.bytes);
    if (!relayHostPerSource.tryAdd(socket))
      return refuse(ctx, socket, 'relay_host_source_limit', TlsAlert.internal_error, sni);
    socket.unshift(hello.bytes);
    relayHostTls.emit('connection', socket);
  };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    onConnection(socket).catch((err: unknown) => {
      ctx.logger.error({ err: (err as Error).message }, 'routing failed');
      refuse(ctx, socket, 'internal');
    });
  });
  server.maxConnections = ctx.limits.maxConnections;
  server.on('drop', () => {
    ctx.metrics.routingFailures.inc({ reason: 'global_connection_limit' });
    ctx.refusals.note('global_connection_limit');
  });
  server.on('error', (err) => ctx.logger.error({ err: err.message }, 'relay listener error'));
  return server;
}

/** Listens on `host:port`; rejects on a bind error. */
export function listen(server: net.Server, port: number, host: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as net.AddressInfo);
    });
  });
}
