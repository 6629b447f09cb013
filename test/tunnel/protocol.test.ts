import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import { startHeartbeat } from '../../src/tunnel/heartbeat.js';
import {
  connectorUri,
  decodeRejection,
  encodeRejection,
  isPermanentTunnelCode,
  parseConnectorUri,
  parseTunnelHello,
  TunnelCodes,
} from '../../src/tunnel/protocol.js';
import { until } from '../fixtures/wait-until.js';
import { startTcpForwarder } from '../relay/tcp-forwarder.js';

test('hello parsing accepts exactly the documented shape', () => {
  assert.deepEqual(parseTunnelHello('{"connectorId":"con_1","slot":1,"version":1}'), {
    connectorId: 'con_1',
    slot: 1,
    version: 1,
  });
  for (const bad of [
    '',
    'null',
    '{"connectorId":"","slot":0,"version":1}',
    '{"connectorId":"a","slot":-1,"version":1}',
    '{"connectorId":"a","slot":0.5,"version":1}',
  ]) {
    assert.equal(parseTunnelHello(bad), undefined, bad);
  }
});

test('rejections round-trip through GOAWAY debug data; junk decodes to undefined', () => {
  const rejection = { code: TunnelCodes.CONNECTOR_REVOKED, message: 'revoked' };
  assert.deepEqual(decodeRejection(encodeRejection(rejection)), rejection);
  assert.equal(decodeRejection(Buffer.from('not json')), undefined);
  assert.equal(decodeRejection(Buffer.alloc(0)), undefined);
  assert.equal(decodeRejection(Buffer.alloc(5000, 0x20)), undefined);
});

test('permanent vs retryable codes', () => {
  for (const code of [
    TunnelCodes.CERT_REJECTED,
    TunnelCodes.CONNECTOR_REVOKED,
    TunnelCodes.RELAY_UNTRUSTED,
  ]) {
    assert.equal(isPermanentTunnelCode(code), true, code);
  }
  for (const code of [
    TunnelCodes.CONNECT_FAILED,
    TunnelCodes.HEARTBEAT_TIMEOUT,
    TunnelCodes.REPLACED,
    TunnelCodes.RELAY_CLOSING,
  ]) {
    assert.equal(isPermanentTunnelCode(code), false, code);
  }
});

test('connector URIs', () => {
  assert.equal(connectorUri('acme', 'con_1'), 'airlock://connector/acme/con_1');
  assert.deepEqual(parseConnectorUri('airlock://connector/acme/con_1'), {
    tenant: 'acme',
    connectorId: 'con_1',
  });
  assert.equal(parseConnectorUri('spiffe://acme/agent/x'), undefined);
  assert.equal(parseConnectorUri('airlock://connector/acme/con_1/extra'), undefined);
});

test('heartbeat: healthy sessions stay up, a stalled peer is reported dead', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverSessions: http2.ServerHttp2Session[] = [];
  let pingsAnswered = 0;
  server.on('connection', (socket) => {
    const session = http2.performServerHandshake(socket);
    session.on('error', () => {});
    session.on('ping', () => {
      pingsAnswered++;
    });
    serverSessions.push(session);
  });
  // A forwarder in between can go silent without FIN, like a dead NAT mapping.
  const forwarder = await startTcpForwarder({
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
  });
  const client = http2.connect(`http://127.0.0.1:${forwarder.port}`);
  client.on('error', () => {});
  let stop = (): void => {};
  try {
    await new Promise((resolve) => client.once('remoteSettings', resolve));
    let dead: string | undefined;
    stop = startHeartbeat(client, {
      intervalMs: 30,
      timeoutMs: 150,
      onDead: (r) => {
        dead = r;
      },
    });
    // A negative check bounded by events, not by a sleep: 8 pings answered span 7 intervals (210 ms),
    // longer than the 150 ms deadline, so a heartbeat that ignored the acknowledgements would be dead.
    await until('8 pings answered by the peer', () => pingsAnswered >= 8);
    assert.equal(dead, undefined, 'acknowledged pings keep it alive');
    forwarder.freeze();
    const reason = await until('the stalled peer reported dead', () => dead);
    assert.match(reason, /no PING acknowledgement within 150 ms/);
  } finally {
    stop();
    client.destroy();
    for (const s of serverSessions) s.destroy();
    await forwarder.close();
    server.close();
  }
});
