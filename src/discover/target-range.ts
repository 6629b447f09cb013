/**
 * What `airlock discover` may touch: the CIDR ranges and ports the operator names, and nothing
 * else. Ranges are parsed by `ipaddr.js` and enforced by a `net.BlockList` that every connection is
 * checked against (a probed server that redirects elsewhere is not followed). The number of
 * address × port pairs is bounded before anything is enumerated.
 *
 * @example
 * const scope = parseDiscoverScope({ cidrs: ['127.0.0.1/32'], ports: '3000-3010' });
 * scope.targets; // [{ host: '127.0.0.1', port: 3000 }, …]
 * scope.allows('10.0.0.1'); // false
 */
import { BlockList, isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { ReportError } from '../report/report-model.js';

/** Most address × port pairs one run may probe. */
export const DEFAULT_DISCOVER_MAX_TARGETS = 1024;
/** Highest number of distinct ports in `--ports`. */
export const MAX_DISCOVER_PORTS = 65_535;

export interface DiscoverTarget {
  host: string;
  port: number;
}

export interface DiscoverScope {
  cidrs: string[];
  ports: number[];
  targets: DiscoverTarget[];
  /** True when `host` (an IP literal) lies inside one of the named ranges. */
  allows(host: string): boolean;
}

function outOfRange(message: string): ReportError {
  return new ReportError('AIRLOCK_DISCOVER_OUT_OF_RANGE', message);
}

function usage(message: string): ReportError {
  return new ReportError('AIRLOCK_DISCOVER_USAGE', message);
}

/** `3000-3010,8080` → sorted distinct ports. */
export function parsePorts(spec: string): number[] {
  const ports = new Set<number>();
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || lo < 1 || hi > 65_535 || lo > hi)
      throw usage(`--ports: "${part}" is not a port or a range like 3000-3010`);
    for (let p = lo; p <= hi; p += 1) ports.add(p);
  }
  if (ports.size === 0) throw usage('--ports names no port');
  return [...ports].sort((a, b) => a - b);
}

interface Range {
  cidr: string;
  addr: ipaddr.IPv4 | ipaddr.IPv6;
  prefix: number;
}

function parseRange(cidr: string): Range {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = cidr.includes('/')
      ? ipaddr.parseCIDR(cidr)
      : (() => {
          const a = ipaddr.parse(cidr);
          return [a, a.kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number];
        })();
  } catch {
    throw usage(`--cidr "${cidr}" is not an IP range like 10.0.0.0/24`);
  }
  const [addr, prefix] = parsed;
  return { cidr: `${addr.toString()}/${prefix}`, addr, prefix };
}

/** Addresses of a range as text, first to last (the caller bounds the count first). */
function addressesOf(r: Range): string[] {
  const bytes = r.addr.toByteArray();
  const bits = bytes.length * 8;
  let value = bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
  const hostBits = BigInt(bits - r.prefix);
  value = (value >> hostBits) << hostBits;
  const out: string[] = [];
  for (let i = 0n; i < 1n << hostBits; i += 1n) {
    let v = value + i;
    const b: number[] = [];
    for (let k = 0; k < bytes.length; k += 1) {
      b.unshift(Number(v & 0xffn));
      v >>= 8n;
    }
    out.push(ipaddr.fromByteArray(b).toString());
  }
  return out;
}

/**
 * Parses and bounds a discovery scope. `targets` (`host:port`, IP literals only) narrow it to given
 * endpoints, each of which must lie inside the ranges. Throws `ReportError`
 * `AIRLOCK_DISCOVER_OUT_OF_RANGE` / `AIRLOCK_DISCOVER_TOO_MANY` / `AIRLOCK_DISCOVER_USAGE`.
 */
export function parseDiscoverScope(opts: {
  cidrs: readonly string[];
  ports: string;
  targets?: readonly string[];
  maxTargets?: number;
}): DiscoverScope {
  if (opts.cidrs.length === 0) throw usage('name at least one --cidr to probe');
  const max = opts.maxTargets ?? DEFAULT_DISCOVER_MAX_TARGETS;
  const ranges = opts.cidrs.map(parseRange);
  const ports = parsePorts(opts.ports);
  const list = new BlockList();
  for (const r of ranges)
    list.addSubnet(r.addr.toString(), r.prefix, r.addr.kind() === 'ipv4' ? 'ipv4' : 'ipv6');
  const allows = (host: string): boolean => {
    const family = isIP(host);
    if (family === 0) return false;
    const addr = ipaddr.process(host);
    return list.check(addr.toString(), addr.kind() === 'ipv4' ? 'ipv4' : 'ipv6');
  };
  let targets: DiscoverTarget[];
  if (opts.targets && opts.targets.length > 0) {
    targets = opts.targets.map((t) => {
      const u = new URL(`http://${t}`);
      const host = u.hostname.replace(/^\[|\]$/g, '');
      if (!u.port || isIP(host) === 0)
        throw usage(`--target "${t}" must be an IP address and port, e.g. 127.0.0.1:3000`);
      if (!allows(host))
        throw outOfRange(
          `--target ${t} is outside the named ranges (${ranges.map((r) => r.cidr).join(', ')}): refused`,
        );
      return { host, port: Number(u.port) };
    });
  } else {
    const hosts = ranges.reduce((n, r) => n + 2 ** ((r.addr.kind() === 'ipv4' ? 32 : 128) - r.prefix), 0);
    if (hosts * ports.length > max) {
      throw new ReportError(
        'AIRLOCK_DISCOVER_TOO_MANY',
        `${hosts} addresses × ${ports.length} ports exceeds the limit of ${max} probes (--max-targets)`,
      );
    }
    const seen = new Set<string>();
    targets = [];
    for (const r of ranges) {
      for (const host of addressesOf(r)) {
        if (seen.has(host)) continue;
        seen.add(host);
        for (const port of ports) targets.push({ host, port });
      }
    }
  }
  if (targets.length > max)
    throw new ReportError(
      'AIRLOCK_DISCOVER_TOO_MANY',
      `${targets.length} targets exceed the limit of ${max}`,
    );
  return { cidrs: ranges.map((r) => r.cidr), ports, targets, allows };
}
