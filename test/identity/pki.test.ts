import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { PkiError } from '../../src/errors/airlock-error.js';
import {
  certificateInfo,
  createCertificateAuthority,
  createCsr,
  generateKeyPair,
  issueClientCertificate,
  issueFromCsr,
  issueServerCertificate,
  publicKeyFingerprint,
} from '../../src/identity/pki.js';

/** Starts a TLS server requiring client certs from `caPem`; resolves with what the server saw for one connection. */
async function mtlsRoundTrip(opts: {
  server: { keyPem: string; certPem: string };
  serverCa: string;
  client: { keyPem: string; certPem: string };
  clientCa: string;
  servername: string;
}): Promise<{ ok: true; peerUris: string } | { ok: false; error: Error }> {
  const server = tls.createServer({
    key: opts.server.keyPem,
    cert: opts.server.certPem,
    ca: opts.serverCa,
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on('secureConnection', (socket) => {
    socket.end(`hello ${socket.getPeerX509Certificate()?.subjectAltName ?? ''}`);
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername: opts.servername,
        ca: opts.clientCa,
        key: opts.client.keyPem,
        cert: opts.client.certPem,
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        data += chunk;
      });
      socket.on('end', () => {
        socket.destroy();
        if (data.startsWith('hello ')) resolve({ ok: true, peerUris: data.slice(6) });
        else resolve({ ok: false, error: new Error('connection closed without greeting') });
      });
      socket.on('error', (error) => {
        socket.destroy();
        resolve({ ok: false, error });
      });
    });
  } finally {
    server.close();
    await once(server, 'close');
  }
}

describe('pki: mutual TLS', () => {
  test('CA, server and client certificates are accepted by real node:tls with mutual auth', async () => {
    const ca = await createCertificateAuthority({ commonName: 'acme test CA' });
    const server = await issueServerCertificate(ca, {
      commonName: 'acme.relay.test',
      dnsNames: ['acme.relay.test'],
      ipAddresses: ['127.0.0.1'],
    });
    const uri = 'spiffe://acme.relay.test/agent/claims-bot';
    const client = await issueClientCertificate(ca, { commonName: 'claims-bot', uris: [uri] });

    const result = await mtlsRoundTrip({
      server,
      serverCa: ca.certPem,
      client,
      clientCa: ca.certPem,
      servername: 'acme.relay.test',
    });
    assert.deepEqual(result, { ok: true, peerUris: `URI:${uri}` });

    // Node's own parser agrees on the CA flags and on the extensions.
    const caCert = new NodeX509(ca.certPem);
    assert.equal(caCert.ca, true);
    const leaf = new NodeX509(server.certPem);
    assert.equal(leaf.ca, false);
    assert.ok(leaf.checkIssued(caCert));
    assert.ok(leaf.verify(caCert.publicKey));
    assert.equal(leaf.checkHost('acme.relay.test'), 'acme.relay.test');
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.deepEqual(new NodeX509(client.certPem).keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  /** Both sides trust only the acme CA; `foreign` says which side's certificate the globex CA issued. */
  async function foreignRoundTrip(foreign: 'server' | 'client') {
    const ca = await createCertificateAuthority({ commonName: 'acme CA' });
    const otherCa = await createCertificateAuthority({ commonName: 'globex CA' });
    const server = await issueServerCertificate(foreign === 'server' ? otherCa : ca, {
      commonName: 'acme.relay.test',
      dnsNames: ['acme.relay.test'],
    });
    const client = await issueClientCertificate(foreign === 'client' ? otherCa : ca, {
      commonName: 'intruder',
      uris: ['spiffe://acme.relay.test/agent/intruder'],
    });
    return mtlsRoundTrip({
      server,
      serverCa: ca.certPem,
      client,
      clientCa: ca.certPem,
      servername: 'acme.relay.test',
    });
  }

  test('a client certificate from another CA is rejected by the server', async () => {
    assert.equal((await foreignRoundTrip('client')).ok, false);
  });

  test('a server certificate from another CA is rejected by the client', async () => {
    const result = await foreignRoundTrip('server');
    assert.equal(result.ok, false);
    if (!result.ok)
      assert.match((result.error as NodeJS.ErrnoException).code ?? '', /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
  });
});

describe('pki: certificate signing requests', () => {
  test('issueFromCsr certifies the CSR key and the cert works for mTLS with that key', async () => {
    const ca = await createCertificateAuthority({ commonName: 'acme CA' });
    const server = await issueServerCertificate(ca, {
      commonName: 'acme.relay.test',
      dnsNames: ['acme.relay.test'],
    });
    const key = await generateKeyPair();
    const csrPem = await createCsr(key, 'connector-1');
    assert.match(csrPem, /-----BEGIN CERTIFICATE REQUEST-----/);
    const uri = 'spiffe://acme.relay.test/connector/1';
    const issued = await issueFromCsr(ca, csrPem, { commonName: 'connector-1', uris: [uri], validDays: 30 });

    assert.equal(issued.publicKeyFingerprint, publicKeyFingerprint(key.publicKeyPem));
    assert.equal(issued.publicKeyFingerprint, publicKeyFingerprint(key.privateKeyPem));
    assert.equal(issued.publicKeyFingerprint, publicKeyFingerprint(issued.certPem));
    assert.match(issued.serial, /^[0-9a-f]{32}$/);
    assert.match(issued.fingerprint, /^[0-9a-f]{64}$/);
    const days = (issued.notAfter.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `validity ${days} days`);

    const result = await mtlsRoundTrip({
      server,
      serverCa: ca.certPem,
      client: { keyPem: key.privateKeyPem, certPem: issued.certPem },
      clientCa: ca.certPem,
      servername: 'acme.relay.test',
    });
    assert.deepEqual(result, { ok: true, peerUris: `URI:${uri}` });
  });

  test('a CSR with a tampered signature is refused', async () => {
    const ca = await createCertificateAuthority({ commonName: 'acme CA' });
    const key = await generateKeyPair();
    const csrPem = await createCsr(key, 'connector-1');
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    // The signature BIT STRING is at the end of the DER: flip a bit in its last byte.
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(
      issueFromCsr(ca, tampered, { commonName: 'x', uris: ['spiffe://a/agent/x'] }),
      (e: unknown) => e instanceof PkiError && e.code === 'AIRLOCK_PKI_CSR_SIGNATURE',
    );
  });

  test('a CSR whose subject key was swapped (signature by another key) is refused', async () => {
    const ca = await createCertificateAuthority({ commonName: 'acme CA' });
    const a = await generateKeyPair();
    const b = await generateKeyPair();
    // A CSR that claims key B but is signed by key A: no proof of possession of B.
    const forged = await createCsr(
      { privateKeyPem: a.privateKeyPem, publicKeyPem: b.publicKeyPem },
      'forged',
    );
    await assert.rejects(
      issueFromCsr(ca, forged, { commonName: 'x', uris: ['spiffe://a/agent/x'] }),
      (e: unknown) => e instanceof PkiError && e.code === 'AIRLOCK_PKI_CSR_SIGNATURE',
    );
  });
});

describe('pki: PEM input and certificate info', () => {
  test('bad PEM input throws PkiError AIRLOCK_PKI_BAD_PEM', async () => {
    const ca = await createCertificateAuthority({ commonName: 'acme CA' });
    const isBadPem = (e: unknown) => e instanceof PkiError && e.code === 'AIRLOCK_PKI_BAD_PEM';
    assert.throws(() => certificateInfo('not a pem'), isBadPem);
    assert.throws(
      () => certificateInfo('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      isBadPem,
    );
    await assert.rejects(issueFromCsr(ca, 'garbage', { commonName: 'x', uris: [] }), isBadPem);
    await assert.rejects(
      issueClientCertificate(
        { keyPem: 'nope', certPem: ca.certPem },
        { commonName: 'x', uris: ['spiffe://a/b'] },
      ),
      isBadPem,
    );
    assert.throws(() => publicKeyFingerprint('nope'), isBadPem);
  });

  test('certificateInfo round-trips names, serial, fingerprint and validity', async () => {
    const ca = await createCertificateAuthority({ commonName: 'acme, Inc. CA', validDays: 10 });
    const uris = ['spiffe://acme.relay.test/agent/claims-bot', 'urn:airlock:test'];
    const issued = await issueClientCertificate(ca, { commonName: 'claims-bot', uris });
    const info = certificateInfo(issued.certPem);
    assert.deepEqual(info.uris, uris);
    assert.deepEqual(info.dnsNames, []);
    assert.equal(info.commonName, 'claims-bot');
    assert.equal(info.serial, issued.serial);
    assert.equal(info.fingerprint, issued.fingerprint);
    assert.equal(info.notAfter.getTime(), issued.notAfter.getTime());
    assert.ok(info.notBefore.getTime() <= Date.now());
    assert.match(info.issuer, /acme/);

    const node = new NodeX509(issued.certPem);
    assert.equal(node.serialNumber.toLowerCase(), info.serial);
    assert.equal(node.fingerprint256.replaceAll(':', '').toLowerCase(), info.fingerprint);

    const caInfo = certificateInfo(ca.certPem);
    assert.equal(caInfo.commonName, 'acme, Inc. CA');

    const server = await issueServerCertificate(ca, { commonName: 's', dnsNames: ['a.test', 'b.test'] });
    assert.deepEqual(certificateInfo(server.certPem).dnsNames, ['a.test', 'b.test']);
  });
});
