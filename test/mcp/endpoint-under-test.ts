/**
 * Test harness: the agent-facing MCP endpoint in memory (no TLS, no relay) in front of real stdio
 * upstreams, with one known agent identity in a real SQLite store. Requests go through
 * `mcp.fetch` as the TLS termination would hand them over (the identity in `authInfo`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import type { AgentMcpEndpointOptions } from '../../src/mcp/agent-endpoint-options.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import type { UpstreamConfig } from '../../src/mcp/upstream-config.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

/** The agent every request of the harness comes from. */
export const AGENT: GatewayIdentity = {
  name: 'alpha',
  spiffeId: 'spiffe://acme.localhost/agent/alpha',
  certSerial: 'a1',
  authenticatedBy: 'mtls',
};

/** The project's fixture MCP server over stdio, as upstream `fixture` (2025-era). */
export function fixtureUpstream(): UpstreamConfig {
  const entry = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;
  return { name: 'fixture', kind: 'stdio', command: process.execPath, args: [entry], protocol: 'legacy' };
}

/** `@modelcontextprotocol/server-everything` over stdio, as upstream `everything`, pinned to 2025-11-25. */
export function everythingUpstream(): UpstreamConfig {
  const pkg = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json');
  const entry = join(dirname(pkg), 'dist', 'index.js');
  return {
    name: 'everything',
    kind: 'stdio',
    command: process.execPath,
    args: [entry, 'stdio'],
    protocol: '2025-11-25',
  };
}

export interface EndpointUnderTest {
  store: Store;
  catalog: UpstreamCatalog;
  mcp: AgentMcpEndpoint;
  /** `fetch` as the agent {@link AGENT} (for SDK client transports). */
  fetch(url: string | URL | Request, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** Starts the upstreams and the endpoint; `options` gets the started catalog and store. */
export async function startEndpoint(
  upstreams: UpstreamConfig[],
  options: (deps: { catalog: UpstreamCatalog; store: Store }) => Omit<AgentMcpEndpointOptions, 'catalog'>,
): Promise<EndpointUnderTest> {
  const store = await openStore({ url: 'sqlite::memory:' });
  await store.identities.addIdentity({
    ...AGENT,
    certFingerprint: 'ab'.repeat(32),
    notAfter: Date.now() + 86_400_000,
    createdAt: Date.now(),
  });
  const catalog = UpstreamCatalog.fromConfig(upstreams);
  await catalog.start();
  const mcp = new AgentMcpEndpoint({ catalog, ...options({ catalog, store }) });
  return {
    store,
    catalog,
    mcp,
    fetch: (url, init) =>
      mcp.fetch(url instanceof Request ? url : new Request(url, init), {
        authInfo: authInfoForIdentity(AGENT),
      }),
    async close() {
      await mcp.close();
      await catalog.close();
      await store.close();
    },
  };
}
