/**
 * Shutting a relay down: stop accepting (before leaving the cluster), tell every tunnel the relay is
 * closing (GOAWAY with `AIRLOCK_TUNNEL_RELAY_CLOSING`, so connectors move at once), end every other
 * connection, then the admin listener; then `relay.events` emits {@link RELAY_CLOSED_EVENT}. Revoking a connector ends its
 * live tunnels the same way.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { WebSocketServer } from 'ws';
import { TunnelCodes } from '../tunnel/protocol.js';
import type { RelayContext } from './relay-context.js';

export interface RelayListeners {
  server: net.Server;
  https: http.Server;
  wss: WebSocketServer;
  admin: { close(): Promise<void> };
}

/** Emitted on `relay.events` once the relay has closed (after `close()` or the end of a drain). */
export const RELAY_CLOSED_EVENT = 'closed';

/** Closes the relay (idempotent: a second call returns at once). */
export async function closeRelay(ctx: RelayContext, listeners: RelayListeners): Promise<void> {
  if (ctx.closing) return;
  ctx.closing = true;
  // Stop accepting at once: a connection accepted from here on could only be dropped, while a refused
  // one is retried elsewhere by the load balancer (a drain can end before its health check saw /readyz).
  const serverClosed = new Promise<void>((resolve) => listeners.server.close(() => resolve()));
  // Leave the cluster, so that other nodes stop splicing agents here.
  await ctx.cluster?.close().catch((err: unknown) => ctx.logger.warn({ err }, 'leaving the cluster failed'));
  const tunnelsClosed = [...ctx.liveTunnels].map(
    (tunnel) =>
      new Promise<void>((resolve) => {
        tunnel.once('close', () => resolve());
        tunnel.reject({ code: TunnelCodes.RELAY_CLOSING, message: 'relay is shutting down' }, 0);
      }),
  );
  await Promise.all(tunnelsClosed);
  for (const socket of ctx.sockets) socket.destroy();
  for (const client of listeners.wss.clients) client.terminate();
  listeners.wss.close();
  listeners.https.close();
  await serverClosed;
  await listeners.admin.close();
  ctx.refusals.close();
  ctx.logger.info('relay closed');
  // Whoever owns resources next to the relay (its store, opened by relay-from-config.ts) closes them
  // now, whichever way the relay was closed: close(), a drain (SIGTERM, `airlock relay drain`).
  ctx.events.emit(RELAY_CLOSED_EVENT);
}

/** Revokes a connector in the store and ends its live tunnels at once. */
export async function revokeConnector(ctx: RelayContext, connectorId: string): Promise<boolean> {
  const revoked = await ctx.store.relay.revokeConnector(connectorId, Date.now());
  for (const tunnel of [...ctx.liveTunnels]) {
    if (tunnel.info.connectorId !== connectorId) continue;
    ctx.registry.remove(tunnel);
    tunnel.reject({ code: TunnelCodes.CONNECTOR_REVOKED, message: `connector ${connectorId} was revoked` });
  }
  return revoked;
}
