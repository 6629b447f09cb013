/**
 * Revocation ends live sessions and streams: an identity revoked in the store mid-session loses its open
 * SSE streams within a second (default revocation poll) and its next call is refused. Real TLS, the real
 * AgentEndpoint (default limits), the real MCP endpoint and gateway, a real stdio upstream, real SDK
 * clients: v1 (legacy session with its standalone GET stream) and v2 (modern `subscriptions/listen`, and
 * legacy with a bearer token).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS } from '../../src/connector/agent-connection-watch.js';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import type { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import type { TenantKit, TestFetch } from '../fixtures/tenant-tls-kit.js';
import { until } from '../fixtures/wait-until.js';
import { type AgentEndpointRig, startAgentEndpointRig, resultText as text } from './agent-endpoint-rig.js';
import { type IdpKit, RESOURCE } from './agent-token-kit.js';

/** The promise of the brief: open streams of a revoked identity close within a second. */
const WITHIN_MS = 1_000;

let rig: AgentEndpointRig;
let kit: TenantKit;
let ids: IdpKit;
let mcp: AgentMcpEndpoint;
let url: URL;
const closedIdentities: { identity: GatewayIdentity; reason: string }[] = [];

interface StreamRecord {
  method: string;
  rpc: string | undefined;
  openedAt: number;
  endedAt?: number;
}

/**
 * Wraps a fetch so every request is watched until its response ends (cleanly or torn down). A GET SSE
 * stream may not even have its headers yet when revocation tears the connection down.
 */
function watchStreams(base: TestFetch): { fetch: TestFetch; streams: StreamRecord[] } {
  const streams: StreamRecord[] = [];
  const fetch: TestFetch = async (target, init) => {
    let rpc: string | undefined;
    try {
      rpc =
        typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string }).method : undefined;
    } catch {
      rpc = undefined;
    }
    const record: StreamRecord = { method: init?.method ?? 'GET', rpc, openedAt: Date.now() };
    streams.push(record);
    const ended = () => {
      record.endedAt ??= Date.now();
    };
    let res: Response;
    try {
      res = await base(target, init);
    } catch (err) {
      ended();
      throw err;
    }
    const sse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
    if (!sse || !res.body) {
      ended();
      return res;
    }
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    res.body.pipeTo(writable).then(ended, ended);
    return new Response(readable, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch, streams };
}

/** The open GET stream of a legacy session, once the server holds it. */
async function openGetStream(streams: StreamRecord[], sessionId: string | undefined): Promise<StreamRecord> {
  assert.ok(sessionId, 'a legacy session');
  await until('the server to hold the GET stream', () =>
    (mcp.sessions().find((s) => s.id === sessionId)?.open ?? 0) > 0 ? true : undefined,
  );
  return until('the GET stream', () => streams.find((s) => s.method === 'GET' && s.endedAt === undefined));
}

/** No reconnection: a stream the endpoint closes stays closed. */
const NO_RECONNECT = {
  maxRetries: 0,
  initialReconnectionDelay: 1_000,
  maxReconnectionDelay: 1_000,
  reconnectionDelayGrowFactor: 1,
};

/** A v2 client in a legacy session that sends `token` as a bearer; its requests are watched. */
async function legacyBearerClient(name: string, token: string) {
  const { fetch, streams } = watchStreams(rig.bearer(token));
  const client = new Client({ name, version: '1.0.0' }, { versionNegotiation: { mode: 'legacy' } });
  client.onerror = () => {};
  const transport = new StreamableHTTPClientTransport(url, { fetch, reconnectionOptions: NO_RECONNECT });
  await client.connect(transport);
  rig.defer(() => client.close());
  return { client, transport, streams };
}

/** A v1 SDK client (legacy session) over `fetch` that does not reconnect; closed with the rig. */
async function v1Client(name: string, fetch: TestFetch) {
  const client = new V1Client({ name, version: '1.0.0' });
  const transport = new V1Transport(url, { fetch: fetch as never, reconnectionOptions: NO_RECONNECT });
  client.onerror = () => {};
  await client.connect(transport);
  rig.defer(() => client.close());
  return { client, transport };
}

/** The stream ended, and it was the endpoint closing the connections of the revoked `who`. */
function closedForRevocation(who: (identity: GatewayIdentity) => boolean): void {
  assert.ok(
    closedIdentities.some((c) => who(c.identity) && c.reason === 'revoked'),
    'the endpoint closed the connections because of the revocation',
  );
}

before(async () => {
  rig = await startAgentEndpointRig({
    endpoint: ({ ids, mcp }) => ({
      oauth: { verifier: ids.verifier, resource: RESOURCE, authorizationServers: [ids.idp.issuer] },
      onConnectionsClosed: (identity, reason) => {
        closedIdentities.push({ identity, reason });
        void mcp.closeSessionsOf(identity.name);
      },
    }),
  });
  ({ kit, ids, mcp, url } = rig);
});

after(() => rig.close());

describe('revocation closes live sessions and streams: mTLS clients', () => {
  it('the default revocation poll is within a second', () => {
    assert.ok(DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS <= WITHIN_MS);
  });

  it('v1 client (mTLS, legacy session): its GET SSE stream closes within 1 s, the next call is refused', async () => {
    const creds = await kit.issueAgent('v1-bot');
    const { fetch, streams } = watchStreams(rig.certFetch(creds));
    const { client, transport } = await v1Client('v1-bot', fetch);
    const sessionId = transport.sessionId;
    assert.ok(sessionId);
    assert.equal(
      text(
        (await client.callTool({ name: 'fixture.echo', arguments: { text: 'before' } })) as {
          content?: unknown;
        },
      ),
      'before',
    );
    const getStream = await openGetStream(streams, sessionId);

    assert.equal(await kit.store.identities.revokeIdentity('v1-bot', Date.now()), true);
    await until('the GET stream to close', () => getStream.endedAt);

    await assert.rejects(
      client.callTool({ name: 'fixture.echo', arguments: { text: 'after' } }),
      /401|revoked/i,
    );
    await until('the session to be dropped', () =>
      mcp.sessions().some((s) => s.id === sessionId) ? undefined : true,
    );
    assert.ok(closedIdentities.some((c) => c.identity.name === 'v1-bot' && c.reason === 'revoked'));
  });

  it('modern client (mTLS, 2026-07-28): its subscriptions/listen stream closes within 1 s, the next call is refused', async () => {
    const creds = await kit.issueAgent('modern-bot');
    const { fetch, streams } = watchStreams(rig.certFetch(creds));
    const client = new Client(
      { name: 'modern-bot', version: '1.0.0' },
      {
        versionNegotiation: { mode: 'auto' },
        listChanged: { tools: { debounceMs: 0, onChanged: () => {} } },
      },
    );
    client.onerror = () => {};
    await client.connect(new StreamableHTTPClientTransport(url, { fetch }));
    rig.defer(() => client.close());
    assert.equal(client.getProtocolEra(), 'modern');
    assert.ok(client.autoOpenedSubscription, 'the client opened subscriptions/listen');
    assert.equal(
      text(await client.callTool({ name: 'fixture.echo', arguments: { text: 'before' } })),
      'before',
    );
    const listen = await until('the listen stream', () =>
      streams.find((s) => s.rpc === 'subscriptions/listen' && s.endedAt === undefined),
    );

    assert.equal(await kit.store.identities.revokeIdentity('modern-bot', Date.now()), true);
    await until('the listen stream to close', () => listen.endedAt);
    closedForRevocation((identity) => identity.name === 'modern-bot');
    await assert.rejects(
      client.callTool({ name: 'fixture.echo', arguments: { text: 'after' } }),
      /401|revoked/i,
    );
  });
});

describe('revocation closes live sessions and streams: bearer identities', () => {
  it('bearer identity (v2 legacy session): revoking the token subject closes its GET stream within 1 s', async () => {
    const token = await ids.token({ sub: 'token-bot' });
    const { client, transport, streams } = await legacyBearerClient('token-bot', token);
    assert.equal(
      text(await client.callTool({ name: 'fixture.echo', arguments: { text: 'before' } })),
      'before',
    );
    const getStream = await openGetStream(streams, transport.sessionId);

    assert.equal(await kit.store.identities.revokeSubject(ids.idp.issuer, 'token-bot', Date.now()), true);
    await until('the GET stream to close', () => getStream.endedAt);
    await assert.rejects(
      client.callTool({ name: 'fixture.echo', arguments: { text: 'after' } }),
      /401|revoked/i,
    );
    assert.ok(
      closedIdentities.some(
        (c) =>
          c.identity.authenticatedBy === 'bearer' &&
          c.identity.subject === 'token-bot' &&
          c.reason === 'revoked',
      ),
    );
  });

  it('a bearer connection closes when its access token expires', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const token = await ids.token({ sub: 'short-lived', exp: expiresAt });
    const { transport, streams } = await legacyBearerClient('short', token);
    const getStream = await openGetStream(streams, transport.sessionId);
    const endedAt = await until('the GET stream to close', () => getStream.endedAt, 10_000);
    assert.ok(endedAt >= expiresAt * 1000, 'not before the token expired');
    assert.ok(closedIdentities.some((c) => c.identity.subject === 'short-lived' && c.reason === 'expired'));
  });
});
