/**
 * The source a remote address is counted under by the relay's per-source limits: the IPv4 address
 * (also for an IPv4-mapped IPv6 address), or the IPv6 /64 prefix (one host usually owns a whole /64).
 * Parsing is `ipaddr.js`'s, never hand-written.
 *
 * @example
 * sourceKey('::ffff:203.0.113.7') // '203.0.113.7'
 * sourceKey('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 */
import ipaddr from 'ipaddr.js';

/** Key of addresses that do not parse (a socket already closed has no remote address). */
export const UNKNOWN_SOURCE = 'unknown';

/** The source key of `address` (see the module comment). */
export function sourceKey(address: string | undefined): string {
  if (address === undefined || !ipaddr.isValid(address)) return UNKNOWN_SOURCE;
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  const prefix = ip.toByteArray().slice(0, 8);
  return `${ipaddr.fromByteArray([...prefix, 0, 0, 0, 0, 0, 0, 0, 0]).toString()}/64`;
}
