/**
 * The relay-host HTTPS and the admin listener against slow clients and DNS rebinding, with the
 * options that bound them: header timeout and first-request timeout on connections the relay hands
 * to its HTTPS server by hand, the per-source connection limit of the relay host, and the Host /
 * Origin checks (relay-host HTTPS, WebSocket upgrade, admin listener with configured names).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { hostCheck, hostOfHeader, isLoopbackName } from '../../src/relay/host-header-check.js';
import { sourceKey } from '../../src/relay/source-connection-limit.js';
import { until } from '../fixtures/wait-until.js';
import { adminGet, RELAY_HOST, type RelayFixture, startRelayFixture } from './relay-fixture.js';

const PER_SOURCE = 3;

let fx: RelayFixture;

before(async () => {
  fx = await startRelayFixture({
    limits: {
      relayHostHeadersTimeoutMs: 400,
      relayHostRequestTimeoutMs: 800,
      relayHostFirstRequestTimeoutMs: 300,
      connectionsCheckingIntervalMs: 100,
      maxRelayHostConnectionsPerSource: PER_SOURCE,
    },
    adminHostnames: ['metrics.internal'],
  });
});
after(() => fx.close());

function dialRelayHost(relay = fx): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: relay.relay.port,
    servername: RELAY_HOST,
    ca: fx.relay.caPem,
    ALPNProtocols: ['http/1.1'],
  });
  return new Promise((resolve, reject) => {
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function closedWithin(socket: tls.TLSSocket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** One raw HTTP/1.1 exchange on the relay host; returns the status code and the body. */
async function relayHostExchange(request: string): Promise<{ status: number; text: string }> {
  const socket = await dialRelayHost();
  socket.on('error', () => {});
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (c: string) => {
    text += c;
  });
  socket.write(request);
  await closedWithin(socket, 3000);
  socket.destroy();
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), text };
}

function adminRequest(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(
        { host: '127.0.0.1', port: fx.relay.adminPort, path: '/healthz', headers, agent: false },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      )
      .on('error', reject);
  });
}

describe('relay-host HTTPS: slow clients', () => {
  it('trickled headers are cut at the header timeout, though the server never listen()s', async () => {
    const socket = await dialRelayHost();
    socket.on('error', () => {});
    socket.resume();
    socket.write(`POST /v1/enroll HTTP/1.1\r\nHost: ${RELAY_HOST}\r\n`);
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('X-Slow: 1\r\n');
    }, 50);
    try {
      assert.equal(await closedWithin(socket, 3000), true);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('a connection that finishes TLS and sends nothing is closed at the first-request timeout', async () => {
    const socket = await dialRelayHost();
    socket.on('error', () => {});
    socket.resume();
    assert.equal(await closedWithin(socket, 3000), true);
  });

  it('a prompt request is served, and the first-request deadline does not cut the connection later', async () => {
    const socket = await dialRelayHost();
    socket.on('error', () => {});
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      text += c;
    });
    socket.write(`GET /nowhere HTTP/1.1\r\nHost: ${RELAY_HOST}:443\r\n\r\n`);
    await until('the answer', () => /^HTTP\/1\.1 404/.test(text));
    // A silent connection opened after this one is cut at its first-request deadline: once it is
    // gone, this connection's own deadline has passed too.
    const silent = await dialRelayHost();
    silent.on('error', () => {});
    silent.resume();
    assert.equal(await closedWithin(silent, 3000), true, 'the later silent connection was cut');
    assert.equal(socket.destroyed, false, 'kept alive after its first request');
    socket.destroy();
  });
});

describe('relay host: per-source connection limit', () => {
  let limited: RelayFixture;
  before(async () => {
    limited = await startRelayFixture({ maxRelayHostConnectionsPerSource: PER_SOURCE });
  });
  after(() => limited.close());

  it(`a source may hold ${PER_SOURCE} relay-host connections; the next is refused, and a slot frees on close`, async () => {
    const open = await Promise.all(Array.from({ length: PER_SOURCE }, () => dialRelayHost(limited)));
    for (const s of open) s.on('error', () => {});
    const refused = await dialRelayHost(limited).then(
      (s) => {
        s.destroy();
        return 'open';
      },
      (err: Error) => err.message,
    );
    assert.match(refused, /alert number 80|internal error/i);
    const metrics = await adminGet(limited.relay.adminPort, '/metrics');
    assert.match(metrics.body, /airlock_relay_routing_failures_total\{reason="relay_host_source_limit"\} 1/);
    open.pop()?.destroy();
    // The relay frees the slot when it sees the close: dial until it lets the source in again.
    const again = await until('a slot freed', () => dialRelayHost(limited).catch(() => undefined));
    again.destroy();
    for (const s of open) s.destroy();
  });
});

describe('relay host: Host and Origin', () => {
  it('refuses a foreign Host and a foreign Origin with 403, serves the relay host on any port', async () => {
    const body = '{}';
    const enroll = (headers: string) =>
      relayHostExchange(
        `POST /v1/enroll HTTP/1.1\r\n${headers}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    const foreign = await enroll('Host: evil.example\r\n');
    assert.equal(foreign.status, 403);
    assert.match(foreign.text, /AIRLOCK_RELAY_HOST_NOT_ALLOWED/);
    assert.equal((await enroll(`Host: ${RELAY_HOST}\r\nOrigin: https://evil.example\r\n`)).status, 403);
    assert.equal((await enroll('Host: 127.0.0.1\r\n')).status, 403);
    // the relay host itself gets through the check (and the enrollment API refuses the empty body)
    const own = await enroll(`Host: ${RELAY_HOST.toUpperCase()}:8443\r\nOrigin: https://${RELAY_HOST}\r\n`);
    assert.equal(own.status, 400);
  });

  it('refuses a WebSocket upgrade with a foreign Host', async () => {
    const res = await relayHostExchange(
      'GET /v1/tunnel HTTP/1.1\r\nHost: evil.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.equal(res.status, 403);
    assert.match(res.text, /AIRLOCK_RELAY_HOST_NOT_ALLOWED/);
  });
});

describe('relay admin listener: Host', () => {
  it('serves loopback names, IP literals and configured names; refuses others with 403', async () => {
    const port = fx.relay.adminPort;
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      `metrics.internal:${port}`,
    ]) {
      assert.equal(await adminRequest({ host }), 200, host);
    }
    for (const host of [`evil.example:${port}`, 'metrics.internal.evil.example', 'localhost.evil.example']) {
      assert.equal(await adminRequest({ host }), 403, host);
    }
    assert.equal(await adminRequest({ host: `localhost:${port}`, origin: 'http://evil.example' }), 403);
  });
});

describe('host and source helpers', () => {
  it('parse Host headers strictly', () => {
    assert.equal(hostOfHeader('Relay.Example.com:443'), 'relay.example.com');
    assert.equal(hostOfHeader('[::1]:9090'), '::1');
    assert.equal(hostOfHeader('evil.example@relay.localhost'), undefined);
    assert.equal(hostOfHeader('relay.localhost/x'), undefined);
    assert.equal(hostOfHeader(undefined), undefined);
    assert.equal(isLoopbackName('a.localhost'), true);
    assert.equal(isLoopbackName('127.8.9.10'), true);
    assert.equal(isLoopbackName('localhost.evil'), false);
    const check = hostCheck({ hostnames: ['relay.localhost'] });
    const req = (headers: http.IncomingHttpHeaders) => ({ headers }) as http.IncomingMessage;
    assert.equal(check(req({ host: 'relay.localhost' })), undefined);
    assert.match(check(req({})) ?? '', /Host/);
    assert.match(check(req({ host: 'relay.localhost', origin: 'null' })) ?? '', /Origin/);
  });

  it('count IPv4 (also mapped) per address and IPv6 per /64', () => {
    assert.equal(sourceKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(sourceKey('203.0.113.7'), '203.0.113.7');
    assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8::1'), '2001:db8::/64');
    assert.equal(sourceKey('2001:DB8:0:0:1::'), '2001:db8::/64');
    assert.equal(sourceKey('::1'), '::/64');
    assert.equal(sourceKey('fe80::1%eth0'), 'fe80::/64');
    assert.equal(sourceKey('not an address'), 'unknown');
    assert.equal(sourceKey(undefined), 'unknown');
  });
});
