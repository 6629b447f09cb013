/**
 * The world of the gateway-relay tests: the tenant TLS kit, three upstreams (test/mcp/relay-fixture-server.ts
 * over stdio once per era, and the conformance fixture over HTTP in the 2025-11-25 era), MCP endpoints
 * behind real TLS `AgentEndpoint`s with the real gateway stages, and real SDK agents with client
 * certificates that answer elicitation, sampling and roots. Everything closes with `close()`.
 *
 * @example
 * const world = await startRelayWorld();
 * const { url } = await world.serve();
 * const a = await world.agent(url, 'legacy', world.alice);
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  type CallToolResult,
  Client,
  type ClientCapabilities,
  type LoggingMessageNotificationParams,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import type { Stage } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { startConformanceServer } from '../fixtures/conformance-server.js';
import {
  type AgentCredentials,
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
  tlsFetch,
} from '../fixtures/tenant-tls-kit.js';

const FIXTURE = new URL('./relay-fixture-server.js', import.meta.url).pathname;
const ALL_CAPS: ClientCapabilities = { sampling: {}, elicitation: { form: {} }, roots: {} };
export type Mode = 'legacy' | 'auto';

export interface AgentOptions {
  capabilities?: ClientCapabilities;
  name?: string;
  manual?: boolean;
  onElicit?: (message: string) => Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** A started world; see the module comment. */
export type RelayWorld = Awaited<ReturnType<typeof startRelayWorld>>;

/** Starts the upstreams (asserting all three are ready) and issues the agents `alice` and `bob`. */
export async function startRelayWorld() {
  const closers: (() => Promise<unknown>)[] = [];
  const kit = await createTenantKit();
  closers.push(() => kit.close());
  const conformance = await startConformanceServer();
  closers.push(() => conformance.close());
  const fixture = (scheme: 'modern' | 'legacy') => ({
    name: scheme,
    kind: 'stdio' as const,
    command: process.execPath,
    args: [FIXTURE],
    env: { RELAY_FIXTURE_SCHEME: scheme },
  });
  const catalog = UpstreamCatalog.fromConfig(
    [
      fixture('modern'),
      { ...fixture('legacy'), protocol: 'legacy' },
      { name: 'http', kind: 'http', url: conformance.url, protocol: 'legacy' },
    ],
    { upstream: { backoff: { initialMs: 50, maxMs: 500 } } },
  );
  closers.push(() => catalog.close());
  await catalog.start();
  assert.deepEqual(
    catalog.status().map((s) => `${s.name}:${s.state}:${s.era}`),
    ['modern:ready:modern', 'legacy:ready:legacy', 'http:ready:legacy'],
  );
  /** The methods the gateway pipeline saw, in order. */
  const seen: string[] = [];
  /**
   * Records the methods the gateway pipeline sees, and hands the next stage a derived context (as the
   * budget stage does with its timeout view): the relay must not depend on the context's identity.
   */
  const recorder: Stage = (next) => async (ctx) => {
    seen.push(ctx.method);
    return next({ ...ctx });
  };

  /** An MCP endpoint behind a real TLS AgentEndpoint; closed with the world. */
  async function serve(options: Partial<ConstructorParameters<typeof AgentMcpEndpoint>[0]> = {}) {
    const mcp = new AgentMcpEndpoint({
      catalog,
      stages: [...gatewayStages({ identities: kit.store.identities }), recorder],
      ...options,
    });
    const endpoint = new AgentEndpoint({
      tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
      identities: kit.store.identities,
      handler: mcp.nodeHandler,
    });
    const { port } = await endpoint.listen(0, '127.0.0.1');
    closers.push(
      () => endpoint.close(),
      () => mcp.close(),
    );
    return { mcp, url: new URL(`https://${TENANT_HOST}:${port}/mcp`) };
  }

  return {
    kit,
    catalog,
    seen,
    alice: await kit.issueAgent('alice'),
    bob: await kit.issueAgent('bob'),
    serve,
    agent: (url: URL, mode: Mode, creds: AgentCredentials, options: AgentOptions = {}) =>
      connectAgent({ kit, closers }, url, mode, creds, options),
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}

/** A real SDK agent over TLS with its client certificate; answers elicitation, sampling and roots. */
async function connectAgent(
  world: { kit: TenantKit; closers: (() => Promise<unknown>)[] },
  url: URL,
  mode: Mode,
  creds: AgentCredentials,
  options: AgentOptions = {},
) {
  const capabilities = options.capabilities ?? ALL_CAPS;
  const client = new Client(
    { name: `agent-${creds.name}`, version: '1.0.0' },
    {
      versionNegotiation: { mode },
      capabilities,
      ...(options.manual ? { inputRequired: { autoFulfill: false } } : {}),
    },
  );
  const asked: string[] = [];
  const logs: LoggingMessageNotificationParams[] = [];
  const updated: string[] = [];
  if (capabilities.elicitation) {
    client.setRequestHandler('elicitation/create', async (r) => {
      const message = String((r.params as { message?: unknown }).message);
      asked.push(`elicit:${message}`);
      const content = options.onElicit
        ? await options.onElicit(message)
        : { name: options.name ?? creds.name };
      return { action: 'accept', content: content as Record<string, string> };
    });
  }
  if (capabilities.sampling) {
    client.setRequestHandler('sampling/createMessage', async () => {
      asked.push('sampling');
      return { role: 'assistant', content: { type: 'text', text: `beep from ${creds.name}` }, model: 'm' };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler('roots/list', async () => {
      asked.push('roots');
      return { roots: [{ uri: `file:///home/${creds.name}` }] };
    });
  }
  client.setNotificationHandler('notifications/message', (n) => {
    logs.push(n.params);
  });
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    updated.push(n.params.uri);
  });
  const f = tlsFetch({ caPem: world.kit.ca.certPem, client: creds });
  world.closers.push(f.close);
  const transport = new StreamableHTTPClientTransport(url, { fetch: f.fetch });
  await client.connect(transport);
  world.closers.push(() => client.close());
  return { client, transport, asked, logs, updated };
}

/**
 * Starts the world before the file's tests and closes it after them; the returned function gives the
 * started world to a test.
 */
export function useRelayWorld(): () => RelayWorld {
  let world: RelayWorld | undefined;
  before(async () => {
    world = await startRelayWorld();
  });
  after(() => world?.close());
  return () => {
    assert.ok(world, 'the relay world is started');
    return world;
  };
}

/** The text of a tool result's content. */
export function text(result: unknown): string {
  const content = ((result as CallToolResult).content ?? []) as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('');
}

/** A gate a test opens once: `wait` resolves when `open()` has been called. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}
