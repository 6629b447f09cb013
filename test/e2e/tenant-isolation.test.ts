/**
 * Tenant isolation on one relay: connections are routed by SNI to the owning tenant only, a
 * misrouted connection fails the TLS handshake (wrong tenant key), and a client certificate minted
 * by tenant A's CA is refused by tenant B's connector, and tenant A's CA cannot bind a connector to B.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { connectToTenant } from '../../src/agent/index.js';
import { enrollConnector, issueConnectorBinding } from '../../src/connector/enroll-client.js';
import { type Stack, startStack } from './airlock-stack.js';

let stack: Stack;
const seen: Array<{ tenant: string; direction: string; bytes: number }> = [];

before(async () => {
  stack = await startStack({
    tenants: ['acme', 'globex'],
    relay: { onPipe: (tenant, direction, chunk) => seen.push({ tenant, direction, bytes: chunk.length }) },
  });
});
after(() => stack.close());

/** Wait until the relay has piped nothing for a while (closing handshakes of earlier connections). */
async function quiet(ms = 300): Promise<void> {
  let count = -1;
  while (count !== seen.length) {
    count = seen.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

test('each tenant reaches only its own upstreams, routed by SNI', async () => {
  for (const name of ['acme', 'globex']) {
    await quiet();
    seen.length = 0;
    const client = await connectToTenant(stack.tenant(name).connection(), {
      name: `iso-${name}`,
      version: '1',
    });
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0);
    } finally {
      await client.close();
    }
    await quiet();
    assert.ok(seen.length > 0);
    assert.deepEqual(
      [...new Set(seen.map((s) => s.tenant))],
      [name],
      'bytes only ever went to the SNI tenant',
    );
  }
});

test('a client certificate of tenant A is refused by tenant B', async () => {
  const acme = stack.tenant('acme');
  const globex = stack.tenant('globex');
  // Trust globex's CA (so the server side verifies) but present acme's agent certificate.
  const conn = { ...globex.connection(acme.agent), caPem: globex.agent.caPem };
  await assert.rejects(connectToTenant(conn, { name: 'cross', version: '1' }), (err: unknown) => {
    assert.ok(err instanceof Error);
    return true;
  });
  // The same certificate still works at home.
  const home = await connectToTenant(acme.connection(), { name: 'home', version: '1' });
  await home.close();
});

test('a connection with tenant B’s SNI but pinning tenant A’s CA fails the TLS handshake', async () => {
  const acme = stack.tenant('acme');
  const globex = stack.tenant('globex');
  const misrouted = { ...globex.connection(globex.agent), caPem: acme.agent.caPem };
  await assert.rejects(connectToTenant(misrouted, { name: 'misrouted', version: '1' }));
});

test('tenant A’s CA cannot bind a connector to tenant B (each tenant pinned its own CA)', async () => {
  const acme = stack.tenant('acme');
  const pki = acme.connector.pki;
  const binding = await issueConnectorBinding({
    keyPem: await readFile(pki.caKeyFile, 'utf8'),
    certPem: pki.caCertPem,
  });
  await assert.rejects(
    enrollConnector({
      relayUrl: `tls://relay.localhost:${stack.relay.port}`,
      relayCaPem: stack.relay.caPem,
      token: await stack.relay.createEnrollmentToken('globex'),
      connectTo: { host: '127.0.0.1', port: stack.relay.port },
      proxy: false,
      binding,
    }),
    (err: { code?: string }) => err.code === 'AIRLOCK_ENROLL_BINDING_INVALID',
  );
  const states = (await stack.relay.connectors('globex')).map((c) => c.state);
  assert.deepEqual(states, ['online'], 'globex still has exactly its own connector');
});
