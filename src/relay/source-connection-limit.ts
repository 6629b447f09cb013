/**
 * Counts open connections per source (an IPv4 address, or an IPv6 /64: one host usually owns a whole
 * /64) so one source cannot use up a listener's shared connection limit.
 *
 * @example
 * const perSource = new SourceConnectionLimit(DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE);
 * if (!perSource.tryAdd(socket)) socket.destroy();
 */
import type { Socket } from 'node:net';
import { sourceKey } from '../net/source-key.js';

export { sourceKey };

/**
 * Default most concurrent relay-host connections (tunnels, enrollment, witness, handshakes) from one
 * source. Leaves room for many connectors behind one NAT or HTTP proxy (8 tunnels each by default).
 */
export const DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE = 256;

export class SourceConnectionLimit {
  readonly #counts = new Map<string, number>();

  /** `max`: most open connections per source (`0` or less: no limit). */
  constructor(readonly max: number) {}

  /**
   * Counts `socket` against its source until it closes. Returns false, counting nothing, when the
   * source already has `max` open connections.
   */
  tryAdd(socket: Socket): boolean {
    const key = sourceKey(socket.remoteAddress);
    const count = this.#counts.get(key) ?? 0;
    if (this.max > 0 && count >= this.max) return false;
    this.#counts.set(key, count + 1);
    socket.once('close', () => {
      const now = (this.#counts.get(key) ?? 1) - 1;
      if (now <= 0) this.#counts.delete(key);
      else this.#counts.set(key, now);
    });
    return true;
  }

  /** Open connections counted for the source of `address`. */
  count(address: string | undefined): number {
    return this.#counts.get(sourceKey(address)) ?? 0;
  }
}
