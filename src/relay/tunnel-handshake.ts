/**
 * A new tunnel, from an authenticated connector connection to a registered tunnel: ask for the hello,
 * check it against the certificate (connector id, slot range), register it (replacing an older tunnel
 * of the same slot), start the heartbeat and tell the connector it is ready. The connector's last-seen
 * time is recorded when a tunnel comes up and when it goes down.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { TunnelCodes } from '../tunnel/protocol.js';
import { RelayTunnel } from '../tunnel/relay-tunnel.js';
import type { TunnelTransportKind } from '../tunnel/tunnel-dialer.js';
import { authenticateConnector, type ConnectorAuthResult } from './connector-auth.js';
import { countRefusal, peerOf, type RelayContext } from './relay-context.js';

type AuthenticatedConnector = Extract<ConnectorAuthResult, { ok: true }>;

function tunnelOptions(ctx: RelayContext) {
  return {
    heartbeatIntervalMs: ctx.limits.heartbeatIntervalMs,
    heartbeatTimeoutMs: ctx.limits.heartbeatTimeoutMs,
    maxStreamsPerTunnel: ctx.limits.maxStreamsPerTunnel,
  };
}

/** A tunnel over TLS (ALPN `airlock-tunnel/1`): authenticates, then {@link setUpTunnel}. */
export async function acceptTlsTunnel(ctx: RelayContext, socket: TLSSocket): Promise<void> {
  const auth = await authenticateConnector(socket, ctx.store);
  if (!auth.ok) {
    countRefusal(ctx, socket, 'tunnel_refused');
    ctx.logger.debug({ code: auth.rejection.code, peer: peerOf(socket) }, 'tunnel refused');
    new RelayTunnel(
      { tenant: '', connectorId: '', transport: 'tls', remoteAddress: peerOf(socket) },
      socket,
      tunnelOptions(ctx),
    ).reject(auth.rejection);
    return;
  }
  await setUpTunnel(ctx, auth, socket, 'tls', peerOf(socket));
}

function touch(ctx: RelayContext, connectorId: string): void {
  ctx.store.relay.touchConnector(connectorId, Date.now()).catch((err: unknown) => {
    ctx.logger.warn({ connectorId, err: (err as Error).message }, 'connector last-seen not recorded');
  });
}

function trackClose(ctx: RelayContext, tunnel: RelayTunnel, auth: AuthenticatedConnector): void {
  ctx.liveTunnels.add(tunnel);
  tunnel.once('close', (reason: string) => {
    ctx.liveTunnels.delete(tunnel);
    ctx.registry.remove(tunnel);
    if (!tunnel.hello) return;
    touch(ctx, auth.connectorId);
    const facts = { tenant: auth.tenant, connectorId: auth.connectorId, slot: tunnel.hello.slot };
    ctx.logger.info({ ...facts, reason }, 'tunnel down');
    ctx.events.emit('tunnel-down', { ...facts, reason });
  });
  tunnel.on('draining', () => ctx.registry.remove(tunnel));
}

/** Runs the hello exchange on an authenticated tunnel and registers it. */
export async function setUpTunnel(
  ctx: RelayContext,
  auth: AuthenticatedConnector,
  duplex: Duplex,
  transport: TunnelTransportKind,
  remoteAddress: string,
): Promise<void> {
  const tunnel = new RelayTunnel(
    { tenant: auth.tenant, connectorId: auth.connectorId, transport, remoteAddress },
    duplex,
    tunnelOptions(ctx),
  );
  trackClose(ctx, tunnel, auth);
  let hello: Awaited<ReturnType<RelayTunnel['requestHello']>>;
  try {
    hello = await tunnel.requestHello(ctx.limits.tunnelHelloTimeoutMs);
  } catch (err) {
    const message = (err as Error).message;
    ctx.logger.info({ connectorId: auth.connectorId, err: message }, 'tunnel hello failed');
    tunnel.reject({ code: TunnelCodes.PROTOCOL, message: `hello failed: ${message}` });
    return;
  }
  const max = ctx.limits.maxTunnelsPerConnector;
  if (hello.connectorId !== auth.connectorId) {
    tunnel.reject({
      code: TunnelCodes.HELLO_INVALID,
      message: 'hello names another connector than the certificate',
    });
    return;
  }
  if (hello.slot >= max) {
    tunnel.reject({
      code: TunnelCodes.SLOT_INVALID,
      message: `tunnel slot ${hello.slot} is outside 0..${max - 1}`,
    });
    return;
  }
  if (ctx.closing) {
    tunnel.reject({ code: TunnelCodes.RELAY_CLOSING, message: 'relay is shutting down' }, 0);
    return;
  }
  if (ctx.draining && ctx.cluster) {
    tunnel.reject({ code: TunnelCodes.RELAY_DRAINING, message: 'relay node is draining' }, 0);
    return;
  }
  register(ctx, tunnel, auth, hello.slot, transport);
}

function register(
  ctx: RelayContext,
  tunnel: RelayTunnel,
  auth: AuthenticatedConnector,
  slot: number,
  transport: TunnelTransportKind,
): void {
  const facts = { tenant: auth.tenant, connectorId: auth.connectorId, slot };
  const replaced = ctx.registry.add(tunnel);
  if (replaced) {
    replaced.reject(
      { code: TunnelCodes.REPLACED, message: 'a newer tunnel with the same slot replaced this one' },
      0,
    );
    ctx.logger.info(facts, 'tunnel replaced');
  }
  tunnel.startHeartbeat();
  tunnel.sendReady();
  touch(ctx, auth.connectorId);
  ctx.logger.info({ ...facts, transport }, 'tunnel up');
  ctx.events.emit('tunnel-up', { ...facts, transport });
}
