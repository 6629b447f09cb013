import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { issueClientCertificate } from '../../src/identity/pki.js';
import {
  NodeLinkClient,
  type NodeLinkCredentials,
  type NodeLinkServer,
  nodeLinkCredentials,
  SPLICE_PATH,
  SPLICE_SNI_HEADER,
  type SpliceRequest,
  startNodeLinkServer,
} from '../../src/relay/cluster/node-link.js';
import { createRelayIdentity, type RelayIdentity } from '../../src/relay/relay-identity.js';

const relayHost = 'relay.cluster.test';
let identity: RelayIdentity;
let nodeA: NodeLinkCredentials;
let nodeB: NodeLinkCredentials;
let server: NodeLinkServer;
const splices: SpliceRequest[] = [];

before(async () => {
  identity = await createRelayIdentity({ relayHost });
  nodeA = await nodeLinkCredentials(identity, relayHost, 'node-a');
  nodeB = await nodeLinkCredentials(identity, relayHost, 'node-b');
  server = await startNodeLinkServer({
    host: '127.0.0.1',
    port: 0,
    credentials: nodeB,
    onSplice: (request) => {
      splices.push(request);
      request.stream.respond({ ':status': 200 });
      request.stream.pipe(request.stream); // echo: stands in for a tunnel stream
    },
  });
});
after(() => server.close());

async function roundTrip(
  stream: http2.ClientHttp2Stream,
  payload: Buffer,
): Promise<{ status: number; body: Buffer }> {
  const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.end(payload);
  await once(stream, 'end');
  return { status: Number(headers[':status']), body: Buffer.concat(chunks) };
}

test('a node splices raw bytes to another node over mutual TLS, with SNI and the node id', async () => {
  const client = new NodeLinkClient(nodeA);
  try {
    const bytes = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
    const result = await roundTrip(
      client.openSplice(`127.0.0.1:${server.port}`, 'acme.cluster.test', '203.0.113.9:4000'),
      bytes,
    );
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, bytes);
    const last = splices.at(-1);
    assert.equal(last?.sni, 'acme.cluster.test');
    assert.equal(last?.fromNode, 'node-a');
    assert.equal(last?.peer, '203.0.113.9:4000');
  } finally {
    client.close();
  }
});

test('a certificate from the connector CA (an enrolled connector) cannot open a splice', async () => {
  const connectorCert = await issueClientCertificate(identity.connectorCa, {
    commonName: 'connector',
    uris: [`spiffe://${relayHost}/relay-node/node-x`],
  });
  const session = http2.connect(`https://127.0.0.1:${server.port}`, {
    ca: [identity.ca.certPem],
    cert: connectorCert.certPem,
    key: connectorCert.keyPem,
    servername: relayHost,
  });
  const before = splices.length;
  const failure = await new Promise<string>((resolve) => {
    session.on('error', (err) => resolve(err.message));
    session.on('close', () => resolve('session closed'));
    const stream = session.request({
      ':method': 'POST',
      ':path': SPLICE_PATH,
      [SPLICE_SNI_HEADER]: 'acme.cluster.test',
    });
    stream.on('error', (err) => resolve(err.message));
    stream.on('response', (h) => resolve(`status ${h[':status']}`));
    stream.on('close', () => resolve('stream closed'));
  });
  session.destroy();
  assert.notEqual(failure, 'status 200', failure);
  assert.equal(splices.length, before);
});

test('a relay-CA certificate without the relay-node URI is refused with 403', async () => {
  const other = await issueClientCertificate(identity.ca, {
    commonName: 'x',
    uris: ['spiffe://elsewhere/agent/x'],
  });
  const session = http2.connect(`https://127.0.0.1:${server.port}`, {
    ca: [identity.ca.certPem],
    cert: other.certPem,
    key: other.keyPem,
    servername: relayHost,
  });
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': SPLICE_PATH,
      [SPLICE_SNI_HEADER]: 'acme.cluster.test',
    });
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(headers[':status'], 403);
  } finally {
    session.destroy();
  }
});

test('TLS 1.2 is refused on the link', async () => {
  const session = http2.connect(`https://127.0.0.1:${server.port}`, {
    ca: [identity.ca.certPem],
    cert: nodeA.client.certPem,
    key: nodeA.client.keyPem,
    servername: relayHost,
    maxVersion: 'TLSv1.2',
  });
  const outcome = await new Promise<string>((resolve) => {
    session.on('error', (err) => resolve(err.message));
    session.on('connect', () => resolve('connected'));
    session.on('close', () => resolve('closed'));
  });
  session.destroy();
  assert.match(outcome, /version|protocol|alert/i);
});
