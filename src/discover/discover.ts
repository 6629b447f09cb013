/**
 * `airlock discover`: an inventory of the MCP servers on the address ranges and ports an operator
 * names, bounded (`maxTargets`), rate-limited (`rate` probes per second, `concurrency` at once) and
 * confined to those ranges, with each endpoint marked governed (an HTTP upstream of this connector
 * points at it) or not (shadow MCP).
 *
 * @example
 * const result = await discoverMcpServers({
 *   cidrs: ['10.0.0.0/24'], ports: '3000-3010',
 *   governed: [{ name: 'wiki', url: 'http://10.0.0.7:3001/mcp' }],
 * });
 * result.endpoints.filter((e) => !e.governed); // the ungoverned ones
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { KeyedTokenBucket } from '../policy/token-bucket.js';
import type { DiscoveredEndpoint, DiscoveryResult } from '../report/report-model.js';
import {
  DEFAULT_DISCOVER_PATHS,
  DEFAULT_DISCOVER_TIMEOUT_MS,
  probeMcpEndpoint,
  tcpOpen,
} from './mcp-probe.js';
import { type DiscoverTarget, parseDiscoverScope } from './target-range.js';

/** Probes started per second. */
export const DEFAULT_DISCOVER_RATE = 20;
/** Probes in flight at once. */
export const DEFAULT_DISCOVER_CONCURRENCY = 8;

export interface DiscoverOptions {
  /** Ranges to probe, e.g. `10.0.0.0/24` (an address alone is a /32 or /128). */
  cidrs: readonly string[];
  /** `3000-3010,8080`. */
  ports: string;
  /** Optional `host:port` endpoints to probe instead of every address × port; each must be in `cidrs`. */
  targets?: readonly string[];
  /** URL paths tried per open port. Default {@link DEFAULT_DISCOVER_PATHS}. */
  paths?: readonly string[];
  /** Default {@link DEFAULT_DISCOVER_RATE}. */
  rate?: number;
  /** Default {@link DEFAULT_DISCOVER_CONCURRENCY}. */
  concurrency?: number;
  /** Default `DEFAULT_DISCOVER_MAX_TARGETS` (1024). */
  maxTargets?: number;
  /** Per connect, handshake or listing. Default {@link DEFAULT_DISCOVER_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** This connector's HTTP upstreams. */
  governed?: ReadonlyArray<{ name: string; url: string }>;
  /** The command to print as the way to reproduce the result. */
  reproduce?: string;
  now?: () => number;
}

interface GovernedKey {
  name: string;
  hosts: Set<string>;
  port: number;
  path: string;
}

const normPath = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
const normHost = (h: string) => (isIP(h) ? ipaddr.process(h).toString() : h.toLowerCase());

async function governedKeys(list: ReadonlyArray<{ name: string; url: string }>): Promise<GovernedKey[]> {
  const out: GovernedKey[] = [];
  for (const g of list) {
    const u = new URL(g.url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const hosts = new Set([normHost(host)]);
    if (!isIP(host)) {
      const addrs = await lookup(host, { all: true }).catch(() => []);
      for (const a of addrs) hosts.add(normHost(a.address));
    }
    out.push({
      name: g.name,
      hosts,
      port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
      path: normPath(u.pathname),
    });
  }
  return out;
}

/** Runs `work` on every item, at most `concurrency` at once, starting at most `rate` per second. */
async function paced<T>(
  items: readonly T[],
  rate: number,
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const bucket = new KeyedTokenBucket({
    perSecond: rate,
    burst: Math.max(1, Math.min(concurrency, Math.ceil(rate))),
  });
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next;
      next += 1;
      if (i >= items.length) return;
      for (;;) {
        const take = bucket.take('discover');
        if (take.allowed) break;
        await new Promise((r) => setTimeout(r, Math.max(1, take.retryAfterMs)));
      }
      await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

/**
 * Probes the scope and returns the inventory. Throws `ReportError` (`AIRLOCK_DISCOVER_*`) before
 * probing anything when the scope is invalid, too large or names a target outside its ranges.
 */
export async function discoverMcpServers(opts: DiscoverOptions): Promise<DiscoveryResult> {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  const scope = parseDiscoverScope({
    cidrs: opts.cidrs,
    ports: opts.ports,
    ...(opts.targets ? { targets: opts.targets } : {}),
    ...(opts.maxTargets ? { maxTargets: opts.maxTargets } : {}),
  });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DISCOVER_TIMEOUT_MS;
  const governed = await governedKeys(opts.governed ?? []);
  const endpoints: DiscoveredEndpoint[] = [];
  let open = 0;
  const probe = async (t: DiscoverTarget) => {
    if (!scope.allows(t.host)) return; // defence in depth: never leaves the named ranges
    if (!(await tcpOpen(t.host, t.port, timeoutMs))) return;
    open += 1;
    for (const path of opts.paths ?? DEFAULT_DISCOVER_PATHS) {
      const url = new URL(`http://${isIP(t.host) === 6 ? `[${t.host}]` : t.host}:${t.port}${path}`);
      const found = await probeMcpEndpoint(url, { allows: scope.allows, timeoutMs });
      if (found.eras.length === 0) continue;
      const match = governed.find(
        (g) => g.port === t.port && g.path === normPath(path) && g.hosts.has(normHost(t.host)),
      );
      endpoints.push({
        url: url.toString(),
        host: t.host,
        port: t.port,
        eras: found.eras,
        serverInfo: found.serverInfo,
        tools: found.tools,
        governed: match !== undefined,
        upstream: match?.name ?? null,
      });
    }
  };
  await paced(
    scope.targets,
    opts.rate ?? DEFAULT_DISCOVER_RATE,
    opts.concurrency ?? DEFAULT_DISCOVER_CONCURRENCY,
    probe,
  );
  endpoints.sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port || a.url.localeCompare(b.url));
  return {
    format: 'airlock-discovery/1',
    startedAt,
    finishedAt: now(),
    cidrs: scope.cidrs,
    ports: opts.ports,
    probed: scope.targets.length,
    open,
    endpoints,
    reproduce:
      opts.reproduce ??
      `airlock discover ${scope.cidrs.map((c) => `--cidr ${c}`).join(' ')} --ports ${opts.ports}`,
  };
}
