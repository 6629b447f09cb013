/**
 * The relay is blind: it holds no tenant key material, and a canary sent as a tool argument and
 * returned in the result never appears in any byte the relay pipes (it sees TLS records only).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectToTenant } from '../../src/agent/index.js';
import { type Stack, startStack } from './airlock-stack.js';

const CANARY = 'CANARY-7f3a9c21-do-not-leak-airlock';

function pemBody(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
}

let stack: Stack;
const piped: Record<string, Buffer[]> = { to_connector: [], to_agent: [] };

before(async () => {
  stack = await startStack({
    relay: {
      onPipe: (_tenant, direction, chunk) => {
        piped[direction]?.push(Buffer.from(chunk));
      },
    },
  });
});
after(() => stack.close());

test('a canary in arguments and results never appears in what the relay pipes', async () => {
  const client = await connectToTenant(stack.tenant('acme').connection(), { name: 'blind', version: '1' });
  try {
    const result = (await client.callTool({ name: 'everything.echo', arguments: { message: CANARY } })) as {
      content: Array<{ text?: string }>;
    };
    // Positive control: the canary made the whole trip in clear at both ends.
    assert.equal(result.content[0]?.text, `Echo: ${CANARY}`);
  } finally {
    await client.close();
  }
  const toConnector = Buffer.concat(piped.to_connector ?? []);
  const toAgent = Buffer.concat(piped.to_agent ?? []);
  assert.ok(toConnector.length > 500 && toAgent.length > 500, 'the relay did pipe the exchange');
  // The first bytes the relay forwarded are a TLS handshake record (content type 22), i.e. ciphertext follows.
  assert.equal(toConnector[0], 0x16);
  for (const [name, bytes] of [
    ['to_connector', toConnector],
    ['to_agent', toAgent],
  ] as const) {
    for (const encoding of ['utf8', 'utf16le'] as const) {
      assert.equal(bytes.indexOf(Buffer.from(CANARY, encoding)), -1, `canary found in ${name} (${encoding})`);
    }
    assert.equal(bytes.indexOf(Buffer.from('erp.lookup_invoice')), -1, `tool names visible in ${name}`);
    assert.equal(bytes.indexOf(Buffer.from('/mcp')), -1, `HTTP path visible in ${name}`);
  }
});

test('the relay holds no tenant key material, in memory or on disk', async () => {
  const tenant = stack.tenant('acme');
  const pki = tenant.connector.pki;
  const tenantCaKey = await readFile(pki.caKeyFile, 'utf8');
  const secrets = [pemBody(pki.serverKeyPem), pemBody(tenantCaKey), pemBody(tenant.agent.keyPem)];
  // In memory: the relay's whole identity (its CA, its server key, the connector CA).
  const relayMaterial = JSON.stringify(stack.relayIdentity);
  // On disk: the relay's store.
  const files = (await readdir(stack.dir)).filter((f) => f.startsWith('relay.db'));
  assert.ok(files.length > 0);
  const disk = Buffer.concat(await Promise.all(files.map((f) => readFile(join(stack.dir, f)))));
  for (const secret of secrets) {
    assert.ok(secret.length > 100);
    assert.equal(relayMaterial.includes(secret), false, 'tenant key found in relay identity');
    assert.equal(disk.indexOf(Buffer.from(secret)), -1, 'tenant key found in relay store');
  }
  // And the connector's private key never left the connector: the relay only stored its fingerprint.
  const connectorKey = pemBody(tenant.connector.pki.serverKeyPem);
  assert.equal(disk.indexOf(Buffer.from(connectorKey)), -1);
});
