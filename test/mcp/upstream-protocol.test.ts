/**
 * `protocol` per upstream (connector.yaml `upstreams.<name>.protocol`): against the reference
 * `@modelcontextprotocol/server-everything` over Streamable HTTP, `auto` upgrades to 2026-07-28 when the
 * server answers `server/discover`, `2025-11-25` never does (a 2025-11-25 agent's calls reach the
 * upstream over the 2025-11-25 handshake), and `2026-07-28` requires the modern era.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { connectorConfigSchema } from '../../src/connector/config-schema.js';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import { gatewayStages } from '../../src/gateway/gateway-stages.js';
import { authInfoForIdentity } from '../../src/mcp/agent-auth-info.js';
import { AgentMcpEndpoint } from '../../src/mcp/agent-mcp-endpoint.js';
import { Upstream } from '../../src/mcp/upstream.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import {
  negotiationMode,
  type UpstreamConfig,
  type UpstreamProtocol,
} from '../../src/mcp/upstream-config.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

let everything: ChildProcess;
let url: string;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

before(async () => {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@modelcontextprotocol/server-everything/package.json');
  const port = await freePort();
  everything = spawn(process.execPath, [join(dirname(pkg), 'dist', 'index.js'), 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    everything.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on port')) resolve();
    });
    everything.once('exit', (code) => reject(new Error(`server-everything exited ${code}: ${err}`)));
  });
  url = `http://127.0.0.1:${port}/mcp`;
});

after(async () => {
  if (everything && everything.exitCode === null) {
    const exited = once(everything, 'exit');
    everything.kill('SIGTERM');
    await exited;
  }
});

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;

/** The era an upstream ends up in (`failed` when connecting failed). */
async function eraOf(config: UpstreamConfig): Promise<string | undefined> {
  const upstream = new Upstream(config, { connectTimeoutMs: 10_000 });
  try {
    await upstream.start().catch(() => undefined);
    const status = upstream.status();
    return status.state === 'ready' ? status.era : status.state;
  } finally {
    await upstream.close();
  }
}

describe('upstream protocol setting', () => {
  it('maps each setting to the SDK negotiation and validates connector.yaml', () => {
    assert.equal(negotiationMode(undefined), 'auto');
    assert.equal(negotiationMode('2025-11-25'), 'legacy');
    assert.deepEqual(negotiationMode('2026-07-28'), { pin: '2026-07-28' });
    const parse = (protocol: unknown) =>
      connectorConfigSchema.safeParse({ upstreams: { e: { url: 'http://127.0.0.1:1/mcp', protocol } } });
    assert.equal(parse('2025-11-25').success, true);
    assert.equal(parse('2026-07-28').success, true);
    assert.equal(parse('2024-11-05').success, false);
  });

  it('auto upgrades a modern upstream, 2025-11-25 never does, 2026-07-28 requires the modern era', async () => {
    // The project's fixture (SDK v2) answers `server/discover`.
    const fixture = (protocol: UpstreamProtocol): UpstreamConfig => ({
      name: 'fx',
      kind: 'stdio',
      command: process.execPath,
      args: [FIXTURE],
      protocol,
    });
    assert.equal(await eraOf(fixture('auto')), 'modern');
    assert.equal(await eraOf(fixture('2025-11-25')), 'legacy');
    assert.equal(await eraOf(fixture('2026-07-28')), 'modern');
    // The reference everything-server over HTTP, pinned: 2025-11-25; a 2026-07-28 pin it cannot honour fails.
    const http = (protocol: UpstreamProtocol): UpstreamConfig => ({
      name: 'everything',
      kind: 'http',
      url,
      protocol,
    });
    assert.equal(await eraOf(http('2025-11-25')), 'legacy');
    assert.equal(await eraOf(http('auto')), 'legacy');
    assert.notEqual(await eraOf(http('2026-07-28')), 'modern');
  });

  it('a 2025-11-25 agent reaches a pinned upstream over 2025-11-25, calls and all', async () => {
    const store: Store = await openStore({ url: 'sqlite::memory:' });
    const who: GatewayIdentity = {
      name: 'alpha',
      spiffeId: 'spiffe://acme.localhost/agent/alpha',
      certSerial: 'a1',
      authenticatedBy: 'mtls',
    };
    await store.identities.addIdentity({
      ...who,
      certFingerprint: 'ab'.repeat(32),
      notAfter: Date.now() + 86_400_000,
      createdAt: Date.now(),
    });
    const catalog = UpstreamCatalog.fromConfig([
      { name: 'everything', kind: 'http', url, protocol: '2025-11-25' },
    ]);
    await catalog.start();
    const mcp = new AgentMcpEndpoint({ catalog, stages: gatewayStages({ identities: store.identities }) });
    const client = new Client(
      { name: 'agent-2025', version: '1' },
      { versionNegotiation: { mode: 'legacy' } },
    );
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL('http://gateway.test/mcp'), {
          fetch: (u, init) => mcp.fetch(new Request(u, init), { authInfo: authInfoForIdentity(who) }),
        }),
      );
      assert.equal(client.getProtocolEra(), 'legacy');
      const result = await client.callTool({ name: 'everything.echo', arguments: { message: 'pinned' } });
      assert.match(JSON.stringify(result.content), /pinned/);
      const status = catalog.status().find((s) => s.name === 'everything');
      assert.equal(status?.era, 'legacy');
    } finally {
      await client.close();
      await mcp.close();
      await catalog.close();
      await store.close();
    }
  });
});

describe('resource subscriptions to URIs no list names', () => {
  it('go to the one upstream that takes subscriptions, and to none when several do', async () => {
    const everything = (name: string): UpstreamConfig => ({ name, kind: 'http', url });
    const alone = UpstreamCatalog.fromConfig([everything('everything')]);
    const two = UpstreamCatalog.fromConfig([everything('one'), everything('other')]);
    try {
      await alone.start();
      await two.start();
      // The everything-server takes a subscription to a URI it does not list (as the conformance suite asks).
      const uri = 'test://watched-resource';
      assert.equal(alone.resolveResource(uri), undefined, 'no list names it');
      await alone.subscribeResource(uri);
      await alone.unsubscribeResource(uri);
      // Two upstreams take subscriptions: nothing says which one serves the URI, so it is refused.
      await assert.rejects(two.subscribeResource(uri), /test:\/\/watched-resource/);
    } finally {
      await alone.close();
      await two.close();
    }
  });
});
