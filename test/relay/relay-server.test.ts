import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { createProxy } from 'proxy';
import { TunnelError } from '../../src/errors/airlock-error.js';
import { type CertifiedKey, issueClientCertificate } from '../../src/identity/pki.js';
import { tlsAlert } from '../../src/net/client-hello.js';
import { TunnelCodes } from '../../src/tunnel/protocol.js';
import { dialTunnel } from '../../src/tunnel/tunnel-client.js';
import { captureClientHello } from './capture-client-hello.js';
import {
  adminGet,
  agentConnect,
  agentEcho,
  enroll,
  type RelayFixture,
  rawExchange,
  roundTrip,
  startEchoEndpoint,
  startRelayFixture,
  tunnelDialOptions,
  waitFor,
} from './relay-fixture.js';

let fx: RelayFixture;
const piped: { tenant: string; direction: string; chunk: Buffer }[] = [];

before(async () => {
  fx = await startRelayFixture({
    onPipe: (tenant, direction, chunk) => piped.push({ tenant, direction, chunk }),
  });
});
after(async () => {
  await fx.close();
});

test('agent ↔ relay ↔ connector over a TLS tunnel: echo works and the relay only ever sees ciphertext', async () => {
  const credential = await enroll(fx);
  const echo = await startEchoEndpoint();
  const tunnel = await dialTunnel({
    ...tunnelDialOptions(fx, credential, echo),
    slot: 0,
  });
  try {
    await waitFor(() => fx.relay.tunnels().length === 1, 2000, 'tunnel registered');
    assert.deepEqual(
      fx.relay.tunnels().map((t) => [t.tenant, t.connectorId, t.slot, t.transport]),
      [['acme', credential.connectorId, 0, 'tls']],
    );
    piped.length = 0;
    const secret = `top-secret-invoice-${'x'.repeat(5000)}-end`;
    assert.equal(await agentEcho(fx.relay.port, secret), secret);

    // Blindness: bytes flowed both ways, and not one chunk contains any plaintext.
    await waitFor(() => piped.some((p) => p.direction === 'to_agent'), 2000, 'bytes to agent');
    assert.ok(piped.every((p) => p.tenant === 'acme'));
    const toConnector = Buffer.concat(
      piped.filter((p) => p.direction === 'to_connector').map((p) => p.chunk),
    );
    const toAgent = Buffer.concat(piped.filter((p) => p.direction === 'to_agent').map((p) => p.chunk));
    assert.ok(toConnector.length > secret.length && toAgent.length > secret.length);
    for (const bytes of [toConnector, toAgent]) {
      assert.equal(bytes.indexOf('top-secret'), -1);
      assert.equal(bytes.indexOf('xxxxxxxx'), -1);
    }
    assert.equal(toConnector[0], 0x16, 'first byte to the connector is the agent ClientHello record');
    assert.deepEqual(echo.streams[0]?.sni, 'acme.localhost');
    assert.match(echo.streams[0]?.peer ?? '', /^127\.0\.0\.1:\d+$/);

    const metrics = await adminGet(fx.relay.adminPort, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /airlock_relay_tunnels\{tenant="acme"\} 1/);
    assert.match(metrics.body, /airlock_relay_agent_connections_total\{tenant="acme"\} [1-9]/);
    assert.match(
      metrics.body,
      /airlock_relay_bytes_total\{tenant="acme",direction="to_connector"\} [1-9]\d+/,
    );
    assert.match(metrics.body, /airlock_relay_bytes_total\{tenant="acme",direction="to_agent"\} [1-9]\d+/);
    assert.doesNotMatch(metrics.body, /top-secret/);
    const health = await adminGet(fx.relay.adminPort, '/healthz');
    assert.equal(health.status, 200);
  } finally {
    await tunnel.drain(1000);
    echo.close();
  }
  await waitFor(() => fx.relay.tunnels().length === 0, 2000, 'tunnel gone');
});

test('WebSocket tunnel through a real HTTP CONNECT proxy', async () => {
  const credential = await enroll(fx);
  const echo = await startEchoEndpoint();
  const proxy = createProxy(http.createServer());
  const connects: string[] = [];
  proxy.on('connect', (req: http.IncomingMessage) => connects.push(req.url ?? ''));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  const tunnel = await dialTunnel({
    relayUrl: fx.wssUrl,
    connectTo: fx.connectTo,
    relayCaPem: fx.relay.caPem,
    credential,
    connectorId: credential.connectorId,
    slot: 0,
    env: { HTTPS_PROXY: proxyUrl },
    onStream: echo.onStream,
  });
  try {
    assert.equal(tunnel.transport, 'websocket');
    assert.deepEqual(connects, [`127.0.0.1:${fx.relay.port}`]);
    await waitFor(() => fx.relay.tunnels().some((t) => t.transport === 'websocket'), 2000, 'ws tunnel');
    const agent = await agentConnect(fx.relay.port);
    assert.equal(await roundTrip(agent, 'ping over websocket'), 'ping over websocket');
    assert.equal(await roundTrip(agent, 'second message'), 'second message');
    agent.destroy();
  } finally {
    await tunnel.drain(1000);
    echo.close();
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
});

test('unroutable connections get a TLS alert and a close, and the relay keeps serving', async () => {
  await fx.relay.addTenant('idle'); // a tenant without any tunnel
  const before = await adminGet(fx.relay.adminPort, '/metrics');
  const cases: [string, Buffer | undefined, number][] = [
    ['unknown host', await captureClientHello({ servername: 'www.example.com' }), 112],
    ['unknown tenant', await captureClientHello({ servername: 'nobody.localhost' }), 112],
    ['no SNI', await captureClientHello({ servername: '' }), 112],
    [
      'tenant without tunnel (same alert as unknown)',
      await captureClientHello({ servername: 'idle.localhost' }),
      112,
    ],
    ['garbage', Buffer.from('GET / HTTP/1.1\r\nHost: acme.localhost\r\n\r\n'), 40],
    ['oversized hello', Buffer.from([0x16, 3, 1, 0x40, 0, 1, 0x01, 0, 0, ...new Array(100).fill(0)]), 40],
  ];
  for (const [name, bytes, alert] of cases) {
    const answer = await rawExchange(fx.relay.port, bytes);
    assert.deepEqual(answer, tlsAlert(alert), name);
  }
  const metrics = await adminGet(fx.relay.adminPort, '/metrics');
  for (const reason of ['unknown_host', 'unknown_tenant', 'no_sni', 'no_tunnel', 'invalid_hello']) {
    assert.match(
      metrics.body,
      new RegExp(`airlock_relay_routing_failures_total\\{reason="${reason}"\\} [1-9]`),
      reason,
    );
  }
  assert.notEqual(before.body, metrics.body);

  // Still serving: a tunnel and an agent work afterwards.
  const credential = await enroll(fx);
  const echo = await startEchoEndpoint();
  const tunnel = await dialTunnel({
    ...tunnelDialOptions(fx, credential, echo),
  });
  assert.equal(await agentEcho(fx.relay.port, 'still alive'), 'still alive');
  await tunnel.drain(1000);
  echo.close();
});

test('a silent connection is closed after the ClientHello timeout', async () => {
  const quick = await startRelayFixture({ clientHelloTimeoutMs: 100 });
  try {
    const answer = await rawExchange(quick.relay.port, undefined, 3000);
    assert.deepEqual(answer, tlsAlert(40));
  } finally {
    await quick.close();
  }
});

test('a revoked connector cannot open a tunnel, and revoking ends its live tunnel at once', async () => {
  const credential = await enroll(fx);
  const echo = await startEchoEndpoint();
  const base = tunnelDialOptions(fx, credential, echo);
  const live = await dialTunnel(base);
  assert.equal(await fx.relay.revokeConnector(credential.connectorId), true);
  const reason = await live.closed;
  assert.equal(reason.code, TunnelCodes.CONNECTOR_REVOKED);
  assert.equal(reason.retryable, false);

  for (const transport of ['tls', 'websocket'] as const) {
    const err = await dialTunnel({ ...base, transport }).then(
      () => assert.fail('revoked connector got a tunnel'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TunnelError, transport);
    assert.equal(err.code, TunnelCodes.CONNECTOR_REVOKED, transport);
    assert.equal(err.retryable, false);
  }
  assert.equal(fx.relay.tunnels().filter((t) => t.connectorId === credential.connectorId).length, 0);
  echo.close();
});

test('a client certificate from another CA, or none, is refused', async () => {
  const echo = await startEchoEndpoint();
  const { createCertificateAuthority } = await import('../../src/identity/pki.js');
  const rogueCa = await createCertificateAuthority({ commonName: 'rogue' });
  const rogue = await issueClientCertificate(rogueCa, {
    commonName: 'x',
    uris: ['airlock://connector/acme/con_rogue'],
  });
  for (const transport of ['tls', 'websocket'] as const) {
    const err = await dialTunnel({
      relayUrl: fx.tlsUrl,
      transport,
      connectTo: fx.connectTo,
      relayCaPem: fx.relay.caPem,
      credential: { keyPem: rogue.keyPem, certPem: rogue.certPem },
      connectorId: 'con_rogue',
      proxy: false,
      onStream: echo.onStream,
    }).then(
      () => assert.fail('rogue connector got a tunnel'),
      (e: unknown) => e as TunnelError,
    );
    assert.equal(err.code, TunnelCodes.CERT_REJECTED, transport);
    assert.equal(err.retryable, false);
  }
  const err = await dialTunnel({
    relayUrl: fx.tlsUrl,
    connectTo: fx.connectTo,
    relayCaPem: fx.relay.caPem,
    credential: {} as CertifiedKey,
    connectorId: 'con_none',
    proxy: false,
    onStream: echo.onStream,
  }).then(
    () => assert.fail('connector without certificate got a tunnel'),
    (e: unknown) => e as TunnelError,
  );
  assert.equal(err.code, TunnelCodes.CERT_MISSING);
  echo.close();
});

test('a connector that pins another CA refuses the relay (permanent)', async () => {
  const credential = await enroll(fx);
  const echo = await startEchoEndpoint();
  const { createCertificateAuthority } = await import('../../src/identity/pki.js');
  const otherCa = await createCertificateAuthority({ commonName: 'other' });
  const err = await dialTunnel({
    relayUrl: fx.tlsUrl,
    connectTo: fx.connectTo,
    relayCaPem: otherCa.certPem,
    credential,
    connectorId: credential.connectorId,
    proxy: false,
    onStream: echo.onStream,
  }).then(
    () => assert.fail('untrusted relay accepted'),
    (e: unknown) => e as TunnelError,
  );
  assert.equal(err.code, TunnelCodes.RELAY_UNTRUSTED);
  assert.equal(err.retryable, false);
  echo.close();
});

test('the plain-TLS transport also works through an HTTP CONNECT proxy', async () => {
  const credential = await enroll(fx);
  const echo = await startEchoEndpoint();
  const proxy = createProxy(http.createServer());
  let connects = 0;
  proxy.on('connect', () => connects++);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const tunnel = await dialTunnel({
    relayUrl: fx.tlsUrl,
    connectTo: fx.connectTo,
    relayCaPem: fx.relay.caPem,
    credential,
    connectorId: credential.connectorId,
    proxy: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`,
    onStream: echo.onStream,
  });
  try {
    assert.equal(tunnel.transport, 'tls');
    assert.equal(connects, 1);
    assert.equal(await agentEcho(fx.relay.port, 'tls via proxy'), 'tls via proxy');
  } finally {
    await tunnel.drain(1000);
    echo.close();
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
});

test('limits: agent connections per tenant and tunnel slots per connector', async () => {
  const limited = await startRelayFixture({ maxAgentConnectionsPerTenant: 1, maxTunnelsPerConnector: 2 });
  const credential = await enroll(limited);
  const echo = await startEchoEndpoint();
  const base = tunnelDialOptions(limited, credential, echo);
  try {
    const err = await dialTunnel({ ...base, slot: 2 }).then(
      (t) => {
        t.destroy();
        return assert.fail('slot outside the limit accepted');
      },
      (e: unknown) => e as TunnelError,
    );
    assert.equal(err.code, TunnelCodes.SLOT_INVALID);
    assert.equal(err.retryable, false);
    await dialTunnel({ ...base, slot: 1 });
    const first = await agentConnect(limited.relay.port);
    assert.equal(await roundTrip(first, 'one'), 'one');
    const second = await rawExchange(
      limited.relay.port,
      await captureClientHello({ servername: 'acme.localhost' }),
    );
    assert.deepEqual(second, tlsAlert(80));
    first.destroy();
    await waitFor(
      async () => {
        const m = await adminGet(limited.relay.adminPort, '/metrics');
        return /airlock_relay_agent_connections_active\{tenant="acme"\} 0/.test(m.body);
      },
      2000,
      'first connection released',
    );
    assert.equal(await agentEcho(limited.relay.port, 'again'), 'again');
    const metrics = await adminGet(limited.relay.adminPort, '/metrics');
    assert.match(metrics.body, /airlock_relay_routing_failures_total\{reason="tenant_connection_limit"\} 1/);
  } finally {
    echo.close();
    await limited.close();
  }
});
