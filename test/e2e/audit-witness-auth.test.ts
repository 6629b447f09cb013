/**
 * Who may use the relay's audit witness: only enrolled connectors (client certificate), each only
 * for its own tenant — submitting, reading and registering keys. Real relay, real connectors of two
 * tenants, real HTTPS on the relay host.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fetch } from 'undici';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { signCheckpoint } from '../../src/audit/audit-signing.js';
import { connectorRelayClient } from '../../src/connector/connector-audit.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import type { RelayHttpsClient } from '../../src/connector/relay-https-client.js';
import { everythingUpstream, type Stack, startStack } from './airlock-stack.js';

let stack: Stack;
let globex: RelayHttpsClient;

before(async () => {
  stack = await startStack({
    tenants: ['acme', 'globex'],
    upstreams: () => ({ everything: everythingUpstream() }),
  });
  const ctx = await loadConnectorContext(stack.tenant('globex').configFile);
  const client = connectorRelayClient(ctx);
  assert.ok(client);
  globex = client;
});

after(async () => {
  await globex?.close();
  await stack?.close();
});

async function post(path: string, body: unknown) {
  const res = await fetch(`${globex.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: globex.dispatcher,
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

test('a connector cannot submit or read checkpoints of another tenant', async () => {
  const key = await loadOrCreateAuditKey(join(stack.dir, 'globex'));
  const forAcme = signCheckpoint(key, {
    tenant: 'acme',
    treeSize: 999,
    headHash: 'a'.repeat(64),
    time: Date.now(),
  });
  const refused = await post('/v1/audit/checkpoints', forAcme);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error?.code, 'AIRLOCK_AUDIT_API_WRONG_TENANT');

  const read = await fetch(`${globex.baseUrl}/v1/audit/checkpoints?tenant=acme`, {
    dispatcher: globex.dispatcher,
  });
  assert.equal(read.status, 403);
  await read.body?.cancel();

  // Its own tenant is fine, and a key registered by globex's connector is registered for globex only.
  const own = await fetch(`${globex.baseUrl}/v1/audit/checkpoints?tenant=globex`, {
    dispatcher: globex.dispatcher,
  });
  assert.equal(own.status, 200);
  assert.equal(((await own.json()) as { tenant: string }).tenant, 'globex');
  const acmeKeysBefore = await stack.relayStore.audit.listWitnessKeys('acme');
  const registered = await post('/v1/audit/key', { publicKeyPem: key.publicKeyPem });
  assert.equal(registered.status, 200);
  assert.deepEqual(registered.body, { tenant: 'globex', keyId: key.keyId });
  assert.deepEqual(await stack.relayStore.audit.listWitnessKeys('acme'), acmeKeysBefore);
  const bad = await post('/v1/audit/key', { publicKeyPem: 'not a key' });
  assert.equal(bad.status, 400);
  assert.equal(
    await stack.relayStore.audit
      .listWitnessCheckpoints('acme')
      .then((r) => r.some((c) => c.treeSize === 999)),
    false,
  );
});

test('without a connector client certificate the witness answers 401', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: stack.relay.port,
      servername: stack.relay.relayHost,
      ca: stack.relay.caPem,
      method: 'GET',
      path: '/v1/audit/checkpoints?tenant=acme',
      headers: { host: `${stack.relay.relayHost}:${stack.relay.port}` },
      agent: false,
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 401);
});
