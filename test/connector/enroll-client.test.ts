import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { enrollConnector } from '../../src/connector/enroll-client.js';
import { EnrollmentError } from '../../src/errors/airlock-error.js';
import { certificateInfo, createCertificateAuthority, publicKeyFingerprint } from '../../src/identity/pki.js';
import { issueEnrollmentToken } from '../../src/relay/tenant-admin.js';
import { EnrollCodes } from '../../src/tunnel/enrollment-protocol.js';
import { type RelayFixture, startRelayFixture } from '../relay/relay-fixture.js';

let fx: RelayFixture;
before(async () => {
  fx = await startRelayFixture();
});
after(async () => {
  await fx.close();
});

const enrollWith = (token: string, extra: Partial<Parameters<typeof enrollConnector>[0]> = {}) =>
  enrollConnector({
    relayUrl: fx.tlsUrl,
    relayCaPem: fx.relay.caPem,
    token,
    connectTo: fx.connectTo,
    proxy: false,
    ...extra,
  });

async function failure(promise: Promise<unknown>): Promise<EnrollmentError> {
  const err = await promise.then(
    () => assert.fail('expected enrollment to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof EnrollmentError, String(err));
  return err;
}

test('enrollment: the key is made on the connector and the relay records the connector', async () => {
  const token = await fx.relay.createEnrollmentToken('acme');
  assert.match(token, /^alk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
  const enrolled = await enrollWith(token);
  assert.equal(enrolled.tenant, 'acme');
  assert.equal(enrolled.tenantHost, 'acme.localhost');
  assert.match(enrolled.connectorId, /^con_[0-9a-f]{16}$/);
  const info = certificateInfo(enrolled.certPem);
  assert.deepEqual(info.uris, [`airlock://connector/acme/${enrolled.connectorId}`]);
  assert.equal(publicKeyFingerprint(enrolled.keyPem), publicKeyFingerprint(enrolled.certPem));
  const record = await fx.store.relay.getConnector(enrolled.connectorId);
  assert.equal(record?.tenant, 'acme');
  assert.equal(record?.keyFingerprint, publicKeyFingerprint(enrolled.certPem));
  assert.equal(record?.certSerial, info.serial);
});

test('enrollment over a wss:// relay URL works the same', async () => {
  const enrolled = await enrollWith(await fx.relay.createEnrollmentToken('acme'), { relayUrl: fx.wssUrl });
  assert.equal(enrolled.tenant, 'acme');
});

test('a token works once: reuse is AIRLOCK_ENROLL_TOKEN_USED', async () => {
  const token = await fx.relay.createEnrollmentToken('acme');
  await enrollWith(token);
  const err = await failure(enrollWith(token));
  assert.equal(err.code, EnrollCodes.TOKEN_USED);
  assert.match(err.message, /already used/);
  assert.equal(err.retryable, false);
});

test('an expired token is AIRLOCK_ENROLL_TOKEN_EXPIRED', async () => {
  // Issued a minute ago with a one-second lifetime: expired whatever the machine's speed.
  const { token } = await issueEnrollmentToken(fx.store, 'acme', { now: Date.now() - 60_000, ttlMs: 1_000 });
  const err = await failure(enrollWith(token));
  assert.equal(err.code, EnrollCodes.TOKEN_EXPIRED);
  assert.match(err.message, /expired/);
});

test('unknown, forged and malformed tokens are AIRLOCK_ENROLL_TOKEN_UNKNOWN', async () => {
  const real = await fx.relay.createEnrollmentToken('acme');
  const forged = `${real.slice(0, -4)}AAAA`; // right id, wrong secret
  for (const token of [
    'alk_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    forged,
    'not-a-token',
  ]) {
    const err = await failure(enrollWith(token));
    assert.equal(err.code, EnrollCodes.TOKEN_UNKNOWN, token);
  }
  // The forged attempt did not burn the real token.
  const enrolled = await enrollWith(real);
  assert.equal(enrolled.tenant, 'acme');
});

test('tokens for unknown tenants cannot be made', async () => {
  await assert.rejects(fx.relay.createEnrollmentToken('nobody'), { code: 'AIRLOCK_RELAY_TENANT_UNKNOWN' });
  await assert.rejects(fx.relay.addTenant('Bad Name'), { code: 'AIRLOCK_RELAY_TENANT_INVALID' });
  await assert.rejects(fx.relay.addTenant('relay'), { code: 'AIRLOCK_RELAY_TENANT_INVALID' });
});

test('a relay that is not the pinned one, or not there, gives a clear error', async () => {
  const token = await fx.relay.createEnrollmentToken('acme');
  const otherCa = await createCertificateAuthority({ commonName: 'someone else' });
  const untrusted = await failure(enrollWith(token, { relayCaPem: otherCa.certPem }));
  assert.equal(untrusted.code, EnrollCodes.RELAY_UNTRUSTED);

  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const unreachable = await failure(enrollWith(token, { connectTo: { host: '127.0.0.1', port } }));
  assert.equal(unreachable.code, EnrollCodes.RELAY_UNREACHABLE);
  assert.equal(unreachable.retryable, true);
  // The token was never presented, so it still works.
  assert.equal((await enrollWith(token)).tenant, 'acme');
});

test('the enrollment API refuses bad bodies with JSON errors', async () => {
  const post = (body: string) =>
    new Promise<{ status: number; json: { error: { code: string } } }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: fx.relay.port,
          servername: fx.relay.relayHost,
          ca: fx.relay.caPem,
          method: 'POST',
          path: '/v1/enroll',
          headers: { host: `${fx.relay.relayHost}:${fx.relay.port}`, 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const notJson = await post('{');
  assert.equal(notJson.status, 400);
  assert.equal(notJson.json.error.code, EnrollCodes.BAD_REQUEST);
  const tooLarge = await post(JSON.stringify({ token: 'x', csr: 'y'.repeat(64 * 1024) }));
  assert.equal(tooLarge.status, 413);
  const badCsr = await post(
    JSON.stringify({ token: await fx.relay.createEnrollmentToken('acme'), csr: 'nope' }),
  );
  assert.equal(badCsr.status, 400);
  assert.equal(badCsr.json.error.code, EnrollCodes.CSR_INVALID);
});
