/**
 * Is there an MCP server at `http://host:port/path`, and which? Asks with the official SDK client in
 * both eras: the 2025-11-25 `initialize` handshake and the 2026-07-28 `server/discover` (the client
 * pinned to that revision), then lists its tools. Every request goes through a guarded fetch that
 * refuses hosts outside the discovery ranges and never follows redirects, so a probed server cannot
 * send the probe anywhere else.
 *
 * @example
 * const found = await probeMcpEndpoint(new URL('http://127.0.0.1:3000/mcp'), { allows: scope.allows });
 * found.eras; // ['2025-11-25', '2026-07-28']
 */
import { connect as tcpConnect } from 'node:net';
import { Client, type FetchLike, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

/** Longest one TCP connect, handshake or tools/list may take. */
export const DEFAULT_DISCOVER_TIMEOUT_MS = 3000;
/** Paths tried on every open port. */
export const DEFAULT_DISCOVER_PATHS: readonly string[] = ['/mcp'];
/** Client identity announced to probed servers. */
export const DISCOVER_CLIENT_INFO = { name: 'airlock-discover', version: '1.0.0' };
/** The eras a probe tries, by the revision each handshake speaks. */
export const LEGACY_ERA = '2025-11-25';
export const MODERN_ERA = '2026-07-28';

export interface McpProbeResult {
  eras: string[];
  serverInfo: { name: string; version: string } | null;
  tools: string[];
  error?: string;
}

/** True when something accepts TCP connections at host:port within `timeoutMs`. */
export function tcpOpen(
  host: string,
  port: number,
  timeoutMs = DEFAULT_DISCOVER_TIMEOUT_MS,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (open: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(open);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A fetch that only reaches allowed hosts, never follows redirects and times out. */
export function guardedFetch(allows: (host: string) => boolean, timeoutMs: number): FetchLike {
  return async (url, init) => {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (!allows(host)) throw new Error(`refused: ${u.host} is outside the discovery ranges`);
    const signal = init?.signal
      ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
    return fetch(u, { ...init, redirect: 'error', signal });
  };
}

async function tryEra(
  url: URL,
  era: string,
  fetchFn: FetchLike,
  timeoutMs: number,
): Promise<{ serverInfo: { name: string; version: string } | null; tools: string[] }> {
  const client = new Client(
    DISCOVER_CLIENT_INFO,
    era === MODERN_ERA ? { versionNegotiation: { mode: { pin: MODERN_ERA } } } : {},
  );
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: fetchFn,
    reconnectionOptions: {
      initialReconnectionDelay: 1000,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 1,
      maxRetries: 0,
    },
  });
  try {
    await client.connect(transport, { timeout: timeoutMs });
    const info = client.getServerVersion();
    const tools: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page += 1) {
      const res = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs });
      tools.push(...res.tools.map((t) => t.name));
      cursor = res.nextCursor;
      if (!cursor) break;
    }
    return { serverInfo: info ? { name: info.name, version: info.version } : null, tools: tools.sort() };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Probes one URL with both handshakes. Never throws: an endpoint that is not MCP gives `eras: []`
 * and the last error.
 */
export async function probeMcpEndpoint(
  url: URL,
  opts: { allows: (host: string) => boolean; timeoutMs?: number },
): Promise<McpProbeResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DISCOVER_TIMEOUT_MS;
  const fetchFn = guardedFetch(opts.allows, timeoutMs);
  const result: McpProbeResult = { eras: [], serverInfo: null, tools: [] };
  const errors: string[] = [];
  for (const era of [LEGACY_ERA, MODERN_ERA]) {
    try {
      const found = await tryEra(url, era, fetchFn, timeoutMs);
      result.eras.push(era);
      result.serverInfo ??= found.serverInfo;
      if (found.tools.length > result.tools.length) result.tools = found.tools;
    } catch (err) {
      errors.push(`${era}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (result.eras.length === 0 && errors.length > 0) result.error = errors.join('; ');
  return result;
}
