/**
 * Keep-alive connections of an HTTP server, for a graceful drain of some or all of them. Servers fed
 * sockets by hand (the relay host behind its ClientHello reader, the connector's agent endpoint behind
 * tunnel streams) never listen, so Node's own `closeIdleConnections()` has no list to work on.
 *
 * A connection is idle between the end of a response and the next request (a new connection is not
 * idle before its first request: its client is about to use it). While `draining(socket)`
 * says so, a response carries `Connection: close` and the connection ends after it; a response whose
 * headers went out before the drain began ends its connection once it is complete; `closeIdle`
 * ends the idle ones at once. So an agent on keep-alive opens its next request on a new connection
 * (which the draining path no longer takes) instead of losing it to a cut at the end of the grace
 * period. WebSocket upgrades are never counted idle.
 *
 * Closing an idle connection races with a request its client may be sending at that moment (HTTP/1.1
 * has no way to say "no more requests" ahead of time): the request is lost. With `quietMs`, `closeIdle`
 * closes only connections idle for that long; one whose client was answered a moment ago (a busy agent
 * sends its next request at once) is left to carry that request, which is answered with
 * `Connection: close`, and it is closed later only if it stays idle for the whole quiet period.
 *
 * @example
 * const conns = trackIdleConnections(server, { draining: () => ctx.draining });
 * conns.closeIdle(); // when the drain begins
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';

export interface IdleConnectionsOptions {
  /**
   * The server event whose socket HTTP runs on: `connection` (plain HTTP, or an HTTPS server fed
   * already-terminated TLS sockets) or `secureConnection` (an HTTPS server terminating TLS itself).
   * Default `connection`.
   */
  socketEvent?: 'connection' | 'secureConnection';
  /** Whether the connection of `socket` is being drained. */
  draining: (socket: Duplex) => boolean;
  /** `closeIdle` closes a connection only once it has been idle this long (see above). Default 0. */
  quietMs?: number;
}

export interface IdleConnections {
  /**
   * Ends every idle connection `pick` chooses (every idle one without it): at once, or when it has been
   * idle for `quietMs` if no request came meanwhile; returns how many it chose.
   */
  closeIdle(pick?: (socket: Duplex) => boolean): number;
}

export function trackIdleConnections(server: http.Server, options: IdleConnectionsOptions): IdleConnections {
  /** Idle connections, with when each became idle (`performance.now()`). */
  const idle = new Map<Duplex, number>();
  const quietMs = options.quietMs ?? 0;
  // A new connection is not idle before its first answer: its client has most likely sent (or is
  // sending) a request. It gets `Connection: close` on that answer instead.
  server.on(options.socketEvent ?? 'connection', (socket: Duplex) => {
    socket.once('close', () => idle.delete(socket));
  });
  // Before the server's own handler: `Connection: close` must be decided before any header goes out.
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    idle.delete(socket);
    if (options.draining(socket)) res.shouldKeepAlive = false;
    res.once('finish', () => {
      if (socket.destroyed) return;
      if (!options.draining(socket)) idle.set(socket, performance.now());
      else if (res.shouldKeepAlive) socket.end(); // its headers went out before the drain began
    });
  });
  server.on('upgrade', (req: http.IncomingMessage) => idle.delete(req.socket));
  /** Closes `socket` once it has been idle `quietMs`, unless a request came meanwhile. */
  const closeWhenQuiet = (socket: Duplex, since: number): void => {
    const wait = since + quietMs - performance.now();
    if (wait <= 0) {
      idle.delete(socket);
      socket.destroy();
      return;
    }
    setTimeout(() => {
      if (idle.get(socket) === since) closeWhenQuiet(socket, since);
    }, wait).unref();
  };
  return {
    closeIdle(pick) {
      let chosen = 0;
      for (const [socket, since] of [...idle]) {
        if (pick && !pick(socket)) continue;
        closeWhenQuiet(socket, since);
        chosen++;
      }
      return chosen;
    },
  };
}
