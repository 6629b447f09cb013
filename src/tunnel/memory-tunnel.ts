/**
 * An in-memory tunnel: a {@link TunnelDialer} whose every dial makes a connected pair of streams in
 * this process, the far end handed to the relay side. For tests of both tunnel ends (hello, ready,
 * agent streams, refusals, drain) without sockets or certificates.
 *
 * @example
 * const dialer = memoryTunnelDialer((relaySide) => {
 *   const tunnel = new RelayTunnel(info, relaySide, options);
 *   void tunnel.requestHello(1_000).then(() => tunnel.sendReady());
 * });
 * const connection = await dialTunnel({ ...options, dialer });
 */
import { Duplex } from 'node:stream';
import type { TunnelDialer, TunnelTransportKind } from './tunnel-dialer.js';

/**
 * Two connected in-memory streams: what is written to one is read from the other; ending one ends
 * the other (like a TCP socket); destroying one destroys both (like a reset connection). Like a
 * socket handle, an open pair keeps the process alive until both ends have closed.
 *
 * @example
 * const [a, b] = memoryDuplexPair();
 * a.write('ping'); // b emits 'data' with 'ping'
 */
export function memoryDuplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const peer = (self: number): Duplex => ends[1 - self] as Duplex;
  const end = (self: number): Duplex =>
    new Duplex({
      // Like a TCP socket: when the peer ends, this end ends too.
      allowHalfOpen: false,
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        peer(self).push(chunk);
        callback();
      },
      final(callback) {
        peer(self).push(null);
        callback();
      },
      destroy(err, callback) {
        peer(self).destroy();
        callback(err);
      },
    });
  ends.push(end(0), end(1));
  const alive = setInterval(() => {}, 2 ** 30);
  let open = 2;
  for (const e of ends) {
    e.once('close', () => {
      if (--open === 0) clearInterval(alive);
    });
  }
  return [ends[0] as Duplex, ends[1] as Duplex];
}

/**
 * A dialer that connects in memory: `dial()` resolves with the connector's end and hands the other
 * end to `onRelaySide` (where the test runs the relay's end of the tunnel). `transport` is what the
 * tunnel reports (default `tls`).
 */
export function memoryTunnelDialer(
  onRelaySide: (relaySide: Duplex) => void,
  transport: TunnelTransportKind = 'tls',
): TunnelDialer {
  return {
    transport,
    dial: async () => {
      const [connectorSide, relaySide] = memoryDuplexPair();
      onRelaySide(relaySide);
      return connectorSide;
    },
  };
}
