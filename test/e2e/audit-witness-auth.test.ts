/**
 * Who may use the relay's audit witness: only enrolled connectors (client certificate), each only
 * for its own tenant — submitting, reading and registering keys — and only audit keys certified by
 * the tenant CA pinned at the relay are trusted (no poisoning by a connector with an enrollment token). Real relay, real connectors of two
 * tenants, real HTTPS on the relay host.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fetch } from 'undici';
import { generateAuditKey, loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { signAuditKeyProof } from '../../src/audit/audit-key-proof.js';
import { auditOrigin, signCheckpoint } from '../../src/audit/audit-signing.js';
import { connectorRelayClient } from '../../src/connector/connector-audit.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import type { RelayHttpsClient } from '../../src/connector/relay-https-client.js';
import { createCertificateAuthority } from '../../src/identity/pki.js';
import { ensureTenantPki } from '../../src/identity/tenant-pki.js';
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

async function post(path: string, body: string, type = 'application/json') {
  const res = await fetch(`${globex.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
    dispatcher: globex.dispatcher,
  });
  const text = await res.text();
  let json: { error?: { code: string }; tenant?: string; keyId?: string } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // tlog-witness answers are text
  }
  return { status: res.status, text, body: json };
}

async function globexCaProof(keyId: string) {
  const pki = await ensureTenantPki(join(stack.dir, 'globex', 'tenant'), stack.tenant('globex').host);
  const caKeyPem = await readFile(pki.caKeyFile, 'utf8');
  return { tenantCaPem: pki.caCertPem, proof: signAuditKeyProof(caKeyPem, 'globex', keyId) };
}

test('a connector cannot submit or read checkpoints of another tenant', async () => {
  const key = await loadOrCreateAuditKey(join(stack.dir, 'globex'));
  const forAcme = signCheckpoint(key, {
    tenant: 'acme',
    treeSize: 999,
    rootHash: Buffer.alloc(32, 9),
    time: 0,
  });
  const refused = await post('/v1/audit/add-checkpoint', `old 0\n\n${forAcme.note}`, 'text/plain');
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error?.code, 'AIRLOCK_AUDIT_API_WRONG_TENANT');
  const read = await fetch(`${globex.baseUrl}/v1/audit/checkpoint?origin=${auditOrigin('acme')}`, {
    dispatcher: globex.dispatcher,
  });
  assert.equal(read.status, 403);
  await read.body?.cancel();
  const own = await fetch(`${globex.baseUrl}/v1/audit/checkpoint?origin=${auditOrigin('globex')}`, {
    dispatcher: globex.dispatcher,
  });
  assert.ok(own.status === 200 || own.status === 404, String(own.status));
  await own.body?.cancel();
  assert.equal(
    await stack.relayStore.audit
      .listWitnessCheckpoints(auditOrigin('acme'))
      .then((r) => r.some((c) => c.treeSize === 999)),
    false,
  );
});

test('only audit keys certified by the pinned tenant CA are trusted: no witness poisoning by an enrolled connector', async () => {
  const acmeKeysBefore = await stack.relayStore.audit.listWitnessKeys('acme');
  // A key without a tenant CA proof, or certified by a CA the attacker made, is refused.
  const rogue = generateAuditKey();
  const noProof = await post('/v1/audit/key', JSON.stringify({ publicKeyPem: rogue.publicKeyPem }));
  assert.equal(noProof.status, 400);
  const fakeCa = await createCertificateAuthority({ commonName: 'attacker CA' });
  const forged = await post(
    '/v1/audit/key',
    JSON.stringify({
      publicKeyPem: rogue.publicKeyPem,
      tenantCaPem: fakeCa.certPem,
      proof: signAuditKeyProof(fakeCa.keyPem, 'globex', rogue.keyId),
    }),
  );
  assert.equal(forged.status, 403);
  assert.equal(forged.body.error?.code, 'AIRLOCK_AUDIT_PIN_CA_MISMATCH');
  // ...so its huge checkpoint is refused and cannot block the real trail.
  const huge = signCheckpoint(rogue, {
    tenant: 'globex',
    treeSize: 1_000_000_000,
    rootHash: Buffer.alloc(32, 1),
    time: 0,
  });
  const poison = await post('/v1/audit/add-checkpoint', `old 0\n\n${huge.note}`, 'text/plain');
  assert.equal(poison.status, 403, poison.text);
  // The right tenant CA certifies a key, for globex only.
  const good = await post(
    '/v1/audit/key',
    JSON.stringify({ publicKeyPem: rogue.publicKeyPem, ...(await globexCaProof(rogue.keyId)) }),
  );
  assert.equal(good.status, 200, good.text);
  assert.equal(good.body.tenant, 'globex');
  assert.deepEqual(await stack.relayStore.audit.listWitnessKeys('acme'), acmeKeysBefore);
});

test('without a connector client certificate the witness answers 401', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: stack.relay.port,
      servername: stack.relay.relayHost,
      ca: stack.relay.caPem,
      method: 'GET',
      path: '/v1/audit/checkpoint?origin=airlock.audit/acme',
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
