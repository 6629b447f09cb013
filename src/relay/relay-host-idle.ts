/**
 * Idle keep-alive connections on the relay host's HTTPS server (enrollment, audit witness), so that a
 * drain can close them (see src/net/idle-connections.ts). While the node drains, every response also
 * carries `Connection: close`. WebSocket upgrades (tunnels) are never counted idle.
 *
 * @example
 * const closeIdle = trackIdleRelayHostConnections(https.server, () => ctx.draining);
 * closeIdle(); // during a drain
 */
import type http from 'node:http';
import { trackIdleConnections } from '../net/idle-connections.js';

export function trackIdleRelayHostConnections(server: http.Server, draining: () => boolean): () => void {
  const connections = trackIdleConnections(server, { draining });
  return () => {
    connections.closeIdle();
  };
}
