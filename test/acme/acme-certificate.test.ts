import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { AcmeCertificate } from '../../src/connector/acme/acme-certificate.js';
import { offersAcmeAlpn } from '../../src/connector/acme/alpn-challenges.js';
import { readClientHello } from '../../src/net/read-client-hello.js';
import { type Pebble, startPebble } from '../fixtures/pebble.js';

let front: net.Server;
let pebble: Pebble;
let dataDir: string;
let acme: AcmeCertificate;
/** Whose challenges the front answers (the restarted instance in the last test). */
let active: () => AcmeCertificate = () => acme;
let served: tls.SecureContext | undefined;
let validations = 0;
const HOST = 'acme.tenants.airlock.test';

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'airlock-acme-'));
  // Stands in for "a connection arriving down the tunnel": peek the ClientHello, answer ACME
  // validations with the challenge certificate and everything else with the served certificate.
  const app = tls.createServer({
    SNICallback: (_name, cb) => (served ? cb(null, served) : cb(new Error('no certificate yet'))),
  });
  app.on('secureConnection', (socket) => socket.end('hello'));
  front = net.createServer(async (socket) => {
    socket.on('error', () => socket.destroy());
    const hello = await readClientHello(socket);
    if (hello.kind !== 'ok') return socket.destroy();
    socket.unshift(hello.bytes);
    if (offersAcmeAlpn(hello.alpn)) {
      validations++;
      active().challenges.answer(socket);
    } else app.emit('connection', socket);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  pebble = await startPebble({ tlsPort: (front.address() as net.AddressInfo).port });
  acme = new AcmeCertificate({
    dataDir,
    hostname: HOST,
    directoryUrl: pebble.directoryUrl,
    directoryCaPem: pebble.apiCaPem,
    onCertificate: (c) => {
      served = tls.createSecureContext({ key: c.keyPem, cert: c.certPem });
    },
  });
});

after(async () => {
  acme?.stop();
  await pebble?.close();
  front.close();
  await rm(dataDir, { recursive: true, force: true });
});

function handshake(port: number, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername: HOST, ca, minVersion: 'TLSv1.3' },
      () => {
        const raw = socket.getPeerCertificate().raw;
        socket.destroy();
        resolve(new X509Certificate(raw));
      },
    );
    socket.on('error', reject);
  });
}

test('a certificate is issued by an ACME CA through TLS-ALPN-01, with the key made and kept here', async () => {
  await acme.start();
  assert.ok(validations >= 1, 'Pebble never sent a tls-alpn-01 validation connection');
  const issued = acme.certificate;
  assert.ok(issued);
  const leaf = new X509Certificate(issued.certPem);
  assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${HOST.replaceAll('.', '\\.')}`));
  const keyFile = await stat(join(dataDir, 'acme', 'tenant.key'));
  assert.equal(keyFile.mode & 0o077, 0, 'the certificate key is readable by others');
  assert.equal(await readFile(join(dataDir, 'acme', 'tenant.key'), 'utf8'), issued.keyPem);
  // A client that trusts only the ACME CA's root completes a TLS 1.3 handshake for the tenant name.
  const root = await pebble.issuingRootPem();
  const chain = issued.certPem.split(/(?=-----BEGIN CERTIFICATE-----)/).slice(1);
  const seen = await handshake((front.address() as net.AddressInfo).port, [root, ...chain].join('\n'));
  assert.equal(seen.fingerprint256, leaf.fingerprint256);
});

test('renewal replaces the served certificate and keeps the same key file location', async () => {
  const first = acme.certificate;
  assert.ok(first);
  // Whether the CA validates again or reuses a recent authorization is the CA's policy (Pebble may
  // reuse one): what matters here is a new certificate, on the same key, served from then on.
  const renewed = await acme.renew();
  assert.notEqual(
    new X509Certificate(renewed.certPem).serialNumber,
    new X509Certificate(first.certPem).serialNumber,
  );
  assert.equal(renewed.keyPem, first.keyPem, 'the certificate key is reused across renewals');
  const root = await pebble.issuingRootPem();
  const chain = renewed.certPem.split(/(?=-----BEGIN CERTIFICATE-----)/).slice(1);
  const seen = await handshake((front.address() as net.AddressInfo).port, [root, ...chain].join('\n'));
  assert.equal(seen.serialNumber, new X509Certificate(renewed.certPem).serialNumber);
});

test('an ACME CA that cannot validate (no challenge answered) is a clear, retryable error', async () => {
  const other = new AcmeCertificate({
    dataDir,
    hostname: 'nobody-answers.airlock.test',
    directoryUrl: pebble.directoryUrl,
    directoryCaPem: pebble.apiCaPem,
    onCertificate: () => assert.fail('no certificate may be installed'),
  });
  // The front answers only `acme`'s challenges: this hostname's challenge store is another object.
  await assert.rejects(other.renew(), (err: Error & { code?: string; retryable?: boolean }) => {
    assert.equal(err.code, 'AIRLOCK_ACME_ORDER_FAILED');
    assert.equal(err.retryable, true);
    return true;
  });
  other.stop();
});

test('after a restart the stored certificate serves at once and renewal reuses the stored account', async () => {
  const stored = acme.certificate;
  assert.ok(stored);
  let installed = 0;
  const restarted = new AcmeCertificate({
    dataDir,
    hostname: HOST,
    directoryUrl: pebble.directoryUrl,
    directoryCaPem: pebble.apiCaPem,
    renewBeforeMs: 0,
    onCertificate: () => {
      installed++;
    },
  });
  active = () => restarted;
  try {
    await restarted.start();
    assert.equal(installed, 1, 'the stored certificate was not served at start');
    assert.equal(restarted.certificate?.certPem, stored.certPem, 'a valid stored certificate was re-ordered');
    const renewed = await restarted.renew();
    assert.equal(installed, 2);
    assert.equal(renewed.keyPem, stored.keyPem);
  } finally {
    restarted.stop();
    active = () => acme;
  }
});
