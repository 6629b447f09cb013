/**
 * Graceful drain of agent connections that arrived over one tunnel: when the connector lets a tunnel go
 * (the relay node drains, a tunnel moves to another node, the connector stops), its idle keep-alive
 * agent connections are closed once quiet (`DRAIN_QUIET_MS`) and busy ones answer with
 * `Connection: close` and end after the response. The agent's next request then opens a new
 * connection, which the relay routes over another tunnel, instead of being cut when the tunnel's grace
 * period ends. Connections on the direct port, or whose tunnel cannot be told (see
 * src/net/tls-raw-stream.ts), are left as they were.
 *
 * @example
 * const drains = new AgentTunnelDrain(httpsServer);
 * drains.adopt(stream, meta.tunnel); // before handing the stream to the TLS server
 */
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { type IdleConnections, trackIdleConnections } from '../net/idle-connections.js';
import { rawStreamOf } from '../net/tls-raw-stream.js';

/**
 * A tunnel's drain closes an agent connection only once it has been idle this long: a busy agent's
 * next request is likely on its way already, and would be lost to the close (it gets `Connection:
 * close` on its answer instead). Well below any tunnel's drain grace period.
 */
export const DRAIN_QUIET_MS = 1_000;

/** What a tunnel tells about its drain: `TunnelConnection` is one. */
export interface DrainingTunnel {
  readonly agentsDraining: boolean;
  once(event: 'draining', listener: () => void): unknown;
}

export class AgentTunnelDrain {
  readonly #tunnelOfStream = new WeakMap<Duplex, DrainingTunnel>();
  readonly #tunnelOfSocket = new WeakMap<Duplex, DrainingTunnel>();
  readonly #watched = new WeakSet<DrainingTunnel>();
  readonly #connections: IdleConnections;

  constructor(server: HttpsServer) {
    this.#connections = trackIdleConnections(server, {
      socketEvent: 'secureConnection',
      quietMs: DRAIN_QUIET_MS,
      draining: (socket) => this.#tunnelOfSocket.get(socket)?.agentsDraining === true,
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      const raw = rawStreamOf(socket);
      const tunnel = raw && this.#tunnelOfStream.get(raw);
      if (tunnel) this.#tunnelOfSocket.set(socket, tunnel);
    });
  }

  /** Remembers that `stream` came over `tunnel`; the first stream of a tunnel subscribes to its drain. */
  adopt(stream: Duplex, tunnel: DrainingTunnel): void {
    this.#tunnelOfStream.set(stream, tunnel);
    if (this.#watched.has(tunnel)) return;
    this.#watched.add(tunnel);
    tunnel.once('draining', () => {
      this.#connections.closeIdle((socket) => this.#tunnelOfSocket.get(socket) === tunnel);
    });
  }
}
