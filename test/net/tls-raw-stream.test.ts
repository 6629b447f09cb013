/**
 * rawStreamOf (src/net/tls-raw-stream.ts) on the Node version in use: a TLS server handed a plain
 * Duplex (as the connector is handed tunnel streams) yields that Duplex back from the TLS socket; a TLS
 * socket on a real TCP connection yields nothing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls, { type TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueServerCertificate } from '../../src/identity/pki.js';
import { rawStreamOf } from '../../src/net/tls-raw-stream.js';
import { memoryDuplexPair } from '../../src/tunnel/memory-tunnel.js';

describe('the byte stream under a server-side TLS socket', () => {
  let server: tls.Server;
  let caPem = '';

  before(async () => {
    const ca = await createCertificateAuthority({ commonName: 'raw stream test CA' });
    const cert = await issueServerCertificate(ca, {
      commonName: 'acme.localhost',
      dnsNames: ['acme.localhost'],
    });
    caPem = ca.certPem;
    server = tls.createServer({ key: cert.keyPem, cert: cert.certPem }, (socket) => socket.end('hi'));
  });
  after(() => server.close());

  it('is the Duplex the server was handed', async () => {
    const [serverSide, clientSide] = memoryDuplexPair();
    const secured = once(server, 'secureConnection') as Promise<[TLSSocket]>;
    server.emit('connection', serverSide);
    const client = tls.connect({ socket: clientSide, servername: 'acme.localhost', ca: caPem });
    const [socket] = await secured;
    assert.equal(rawStreamOf(socket), serverSide);
    client.destroy();
  });

  it('is undefined for a TLS socket on a TCP connection', async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const secured = once(server, 'secureConnection') as Promise<[TLSSocket]>;
    const client = tls.connect({ host: '127.0.0.1', port, servername: 'acme.localhost', ca: caPem });
    const [socket] = await secured;
    assert.equal(rawStreamOf(socket), undefined);
    client.destroy();
  });
});
