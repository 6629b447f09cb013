import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { IdentityError, PkiError } from '../../src/errors/airlock-error.js';
import { certificateInfo } from '../../src/identity/pki.js';
import {
  ensureTenantPki,
  issueAgentIdentity,
  revokeAgentIdentity,
  spiffeIdFor,
} from '../../src/identity/tenant-pki.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const mode = async (file: string) => (await stat(file)).mode & 0o777;

let dir = '';
let store: Store;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-tenant-pki-'));
  store = await openStore({ url: `sqlite:${join(dir, 'connector.db')}` });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tenant PKI: names and files', () => {
  test('spiffeIdFor builds the id and validates the agent name', () => {
    assert.equal(spiffeIdFor('acme.relay.test', 'claims-bot'), 'spiffe://acme.relay.test/agent/claims-bot');
    assert.equal(spiffeIdFor('acme.relay.test', 'a.b_c-9'), 'spiffe://acme.relay.test/agent/a.b_c-9');
    for (const bad of ['', 'Claims', '-x', '.x', 'a/b', 'a b', 'x'.repeat(64), '../etc']) {
      assert.throws(
        () => spiffeIdFor('acme.relay.test', bad),
        (e: unknown) => e instanceof IdentityError && e.code === 'AIRLOCK_IDENTITY_NAME',
        bad,
      );
    }
    assert.equal(spiffeIdFor('h', 'x'.repeat(63)), `spiffe://h/agent/${'x'.repeat(63)}`);
  });

  test('creates the PKI with private files 0600, reloads it, re-issues the server cert on host change', async () => {
    const pkiDir = join(dir, 'pki-1');
    const pki = await ensureTenantPki(pkiDir, 'acme.relay.test');
    assert.equal(await mode(join(pkiDir, 'ca.key')), 0o600);
    assert.equal(await mode(join(pkiDir, 'server.key')), 0o600);
    assert.equal(await mode(pkiDir), 0o700);
    assert.equal(pki.caFile, join(pkiDir, 'ca.pem'));
    assert.equal(await readFile(pki.caFile, 'utf8'), pki.caCertPem);
    assert.deepEqual(certificateInfo(pki.serverCertPem).dnsNames, ['acme.relay.test']);
    assert.ok(!('caKeyPem' in pki), 'the CA key is not kept in memory');

    const again = await ensureTenantPki(pkiDir, 'acme.relay.test');
    assert.equal(again.caCertPem, pki.caCertPem);
    assert.equal(again.serverCertPem, pki.serverCertPem);
    assert.equal(again.serverKeyPem, pki.serverKeyPem);

    const moved = await ensureTenantPki(pkiDir, 'acme.other.test');
    assert.equal(moved.caCertPem, pki.caCertPem, 'the CA survives a host change');
    assert.notEqual(moved.serverCertPem, pki.serverCertPem);
    assert.deepEqual(certificateInfo(moved.serverCertPem).dnsNames, ['acme.other.test']);
    assert.equal(await readFile(join(pkiDir, 'server.pem'), 'utf8'), moved.serverCertPem);
  });

  test('a CA certificate without its key is an error, never silently replaced', async () => {
    const pkiDir = join(dir, 'pki-2');
    await ensureTenantPki(pkiDir, 'acme.relay.test');
    await unlink(join(pkiDir, 'ca.key'));
    await assert.rejects(
      ensureTenantPki(pkiDir, 'acme.relay.test'),
      (e: unknown) => e instanceof PkiError && e.code === 'AIRLOCK_PKI_TENANT_INCOMPLETE',
    );
  });
});

describe('tenant PKI: agent identities', () => {
  test('agent identities work for mTLS against the tenant server, are recorded, and revoke', async () => {
    const pki = await ensureTenantPki(join(dir, 'pki-3'), 'acme.relay.test');
    const outDir = join(dir, 'agent-out');
    const issued = await issueAgentIdentity(pki, store, 'claims-bot', outDir);
    assert.equal(await mode(issued.keyFile), 0o600);
    assert.equal(await readFile(issued.caFile, 'utf8'), pki.caCertPem);

    const certPem = await readFile(issued.certFile, 'utf8');
    const info = certificateInfo(certPem);
    assert.deepEqual(info.uris, ['spiffe://acme.relay.test/agent/claims-bot']);
    assert.equal(info.serial, issued.record.certSerial);
    const days = (issued.record.notAfter - Date.now()) / 86_400_000;
    assert.ok(days > 89.9 && days <= 90, `default validity ${days} days`);
    assert.deepEqual(await store.identities.getIdentityBySerial(info.serial), issued.record);

    // Real mTLS: the tenant server (verifying against the tenant CA) accepts the agent.
    const server = tls.createServer({
      key: pki.serverKeyPem,
      cert: pki.serverCertPem,
      ca: pki.caCertPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket) =>
      socket.end(socket.getPeerX509Certificate()?.subjectAltName ?? ''),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        servername: 'acme.relay.test',
        ca: await readFile(issued.caFile, 'utf8'),
        cert: certPem,
        key: await readFile(issued.keyFile, 'utf8'),
      });
      socket.setEncoding('utf8');
      let seen = '';
      socket.on('data', (d: string) => {
        seen += d;
      });
      await once(socket, 'end');
      socket.destroy();
      assert.equal(seen, 'URI:spiffe://acme.relay.test/agent/claims-bot');
    } finally {
      server.close();
      await once(server, 'close');
    }

    const short = await issueAgentIdentity(pki, store, 'claims-bot', outDir, { validDays: 1 });
    assert.notEqual(short.record.certSerial, issued.record.certSerial);
    assert.equal(await revokeAgentIdentity(store, 'claims-bot', 12345), true);
    assert.equal((await store.identities.getIdentityBySerial(issued.record.certSerial))?.revokedAt, 12345);
    assert.equal((await store.identities.getIdentityBySerial(short.record.certSerial))?.revokedAt, 12345);
    assert.equal(await revokeAgentIdentity(store, 'never-issued'), false);
    await assert.rejects(issueAgentIdentity(pki, store, 'Bad Name', outDir), IdentityError);
  });
});
