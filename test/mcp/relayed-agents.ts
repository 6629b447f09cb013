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
import type {
  CallToolResult,
  Client,
  ClientCapabilities,
  LoggingMessageNotificationParams,
} from '@modelcontextprotocol/client';
import type { Stage } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import type { AgentMcpEndpointOptions } from '../../src/mcp/agent-mcp-endpoint.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { startConformanceServer } from '../fixtures/conformance-server.js';
import { type AgentCredentials, createTenantKit, type TenantKit } from '../fixtures/tenant-tls-kit.js';
import { connectSdkAgent, serveGateway } from './relayed-agent-kit.js';

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
  const serve = (options: Partial<AgentMcpEndpointOptions> = {}) =>
    serveGateway(
      kit,
      { catalog, stages: [...gatewayStages({ identities: kit.store.identities }), recorder], ...options },
      closers,
    );

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
  const asked: string[] = [];
  const logs: LoggingMessageNotificationParams[] = [];
  const updated: string[] = [];
  const { client, transport } = await connectSdkAgent(world.kit, url, mode, creds, world.closers, {
    capabilities,
    ...(options.manual ? { manual: true } : {}),
    handlers: (c) => {
      answerServerRequests(c, creds, options, asked);
      c.setNotificationHandler('notifications/message', (n) => {
        logs.push(n.params);
      });
      c.setNotificationHandler('notifications/resources/updated', (n) => {
        updated.push(n.params.uri);
      });
    },
  });
  return { client, transport, asked, logs, updated };
}

/** Answers elicitation, sampling and roots as far as the agent's capabilities go, recording each in `asked`. */
function answerServerRequests(
  client: Client,
  creds: AgentCredentials,
  options: AgentOptions,
  asked: string[],
) {
  const capabilities = options.capabilities ?? ALL_CAPS;
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
