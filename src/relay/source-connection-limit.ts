/**
 * Counts open connections per source (an IPv4 address, or an IPv6 /64: one host usually owns a whole
 * /64) so one source cannot use up a listener's shared connection limit.
 *
 * @example
 * const perSource = new SourceConnectionLimit(DEFAULT_MAX_RELAY_HOST_CONNECTIONS_PER_SOURCE);
 * if (!perSource.tryAdd(socket)) socket.destroy();
 */
import type { Socket } from 'node:net';

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

/**
 * The source a remote address is counted under: the IPv4 address (also for IPv4-mapped IPv6), or the
 * IPv6 /64 prefix.
 *
 * @example
 * sourceKey('::ffff:203.0.113.7') // '203.0.113.7'
 * sourceKey('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 */
export function sourceKey(address: string | undefined): string {
  const bare = (address ?? 'unknown').split('%')[0] ?? '';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped?.[1]) return mapped[1];
  if (!bare.includes(':')) return bare;
  const [head = '', tail] = bare.split('::');
  const split = (part: string): string[] =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const left = split(head);
  const right = tail === undefined ? [] : split(tail);
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const prefix = groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16));
  return `${prefix.join(':')}::/64`;
}
