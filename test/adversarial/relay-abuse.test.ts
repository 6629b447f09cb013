/**
 * Attacks on the relay's one public port, each bounded and each leaving the other tenant (`globex`)
 * working: slowloris before and after the ClientHello, a flood of agent connections for one tenant,
 * a connector that floods tunnels or opens streams it may not open, garbage and oversized HTTP/2 and
 * WebSocket frames on the tunnel, and malformed ClientHellos. Real relay, real connectors, loopback only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import fc from 'fast-check';
import { dialTunnel, type TunnelConnection } from '../../src/connector/tunnel-client.js';
import { TUNNEL_ALPN, TunnelCodes } from '../../src/tunnel/protocol.js';
import type { Stack } from '../e2e/airlock-stack.js';
import { captureClientHello } from '../relay/capture-client-hello.js';
import { echoThrough, rogueCredential, startAbuseStack } from './abuse-stack.js';
import {
  closedWithin,
  collect,
  dialRelayHost,
  H2,
  H2_PREFACE,
  HPACK_STATUS_200,
  h2Frame,
  h2FrameHeaders,
  until,
  wsFrame,
} from './raw-wire.js';

const HELLO_TIMEOUT_MS = 500;
const PER_TENANT = 6;
const MAX_TUNNELS = 4;

let stack: Stack;

before(async () => {
  stack = await startAbuseStack({
    clientHelloTimeoutMs: HELLO_TIMEOUT_MS,
    maxAgentConnectionsPerTenant: PER_TENANT,
    // Every connection here comes from 127.0.0.1: let one source fill a tenant (fairness between
    // sources is tenant-lockout.test.ts's subject).
    maxTenantSharePerSource: 1,
    maxTunnelsPerConnector: MAX_TUNNELS,
    tunnelHelloTimeoutMs: 1000,
    tlsHandshakeTimeoutMs: 1000,
  });
});
after(() => stack.close());

async function globexWorks(text = 'globex is fine'): Promise<void> {
  assert.equal(await echoThrough(stack, 'globex', text), text);
}

async function rawConnect(): Promise<net.Socket> {
  const socket = net.connect(stack.relay.port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.resume(); // read what the relay sends (an alert), so its close is seen
  return socket;
}

describe('slowloris', () => {
  it('a ClientHello trickled byte by byte is cut at the hello timeout; globex keeps working meanwhile', async () => {
    const hello = await captureClientHello({ servername: 'acme.localhost' });
    const sockets = await Promise.all(Array.from({ length: 30 }, rawConnect));
    let sent = 0;
    const trickle = setInterval(() => {
      for (const s of sockets)
        if (!s.destroyed && sent < hello.length - 1) s.write(hello.subarray(sent, sent + 1));
      sent++;
    }, 100);
    try {
      await globexWorks('during the trickle');
      const closed = await Promise.all(sockets.map((s) => closedWithin(s, HELLO_TIMEOUT_MS + 4000)));
      assert.equal(closed.filter(Boolean).length, sockets.length, 'every trickling socket was dropped');
      assert.ok(sent * 100 < HELLO_TIMEOUT_MS + 4000);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
    await globexWorks();
  });

  it('silent connections are dropped at the hello timeout', async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, rawConnect));
    const closed = await Promise.all(sockets.map((s) => closedWithin(s, HELLO_TIMEOUT_MS + 4000)));
    assert.equal(closed.filter(Boolean).length, sockets.length);
    await globexWorks();
  });

  it('a TLS handshake left half done on the relay host is cut at the handshake timeout', async () => {
    const hello = await captureClientHello({ servername: 'relay.localhost', ALPNProtocols: ['http/1.1'] });
    const socket = await rawConnect();
    socket.write(hello); // ... and never answer the ServerHello
    assert.equal(await closedWithin(socket, 5000), true);
    await globexWorks();
  });

  it('headers trickled to the relay host HTTPS (enrollment API) are cut by a header timeout', async () => {
    const socket = await dialRelayHost({
      port: stack.relay.port,
      caPem: stack.relay.caPem,
      alpn: ['http/1.1'],
    });
    socket.resume();
    socket.write('POST /v1/enroll HTTP/1.1\r\nHost: relay.localhost\r\n');
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('X-Slow: 1\r\n');
    }, 250);
    try {
      await globexWorks('during the header trickle');
      // The relay's HTTPS server declares a 10 s header timeout; allow 12 s.
      assert.equal(
        await closedWithin(socket, 12_000),
        true,
        'FINDING: the relay-host HTTPS server never enforces its header timeout (node starts that check only on listen())',
      );
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });
});

describe('floods', () => {
  it('agent connections for one tenant stop at the per-tenant limit; globex is unaffected; acme recovers', async () => {
    const acme = stack.tenant('acme');
    const open: tls.TLSSocket[] = [];
    const refused: string[] = [];
    for (let i = 0; i < PER_TENANT * 3; i++) {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: stack.relay.port,
        servername: acme.host,
        ca: acme.agent.caPem,
      });
      const outcome = await new Promise<string>((resolve) => {
        socket.once('secureConnect', () => resolve('open'));
        socket.once('error', (err) => resolve(err.message));
      });
      if (outcome === 'open') open.push(socket);
      else {
        refused.push(outcome);
        socket.destroy();
      }
    }
    try {
      assert.ok(open.length <= PER_TENANT, `at most ${PER_TENANT} open, got ${open.length}`);
      assert.ok(refused.length >= PER_TENANT * 2);
      assert.match(refused[0] ?? '', /alert|internal error|socket hang up|ECONNRESET/i);
      await globexWorks('while acme is flooded');
    } finally {
      for (const socket of open) socket.destroy();
    }
    // Once the flood is gone acme is served again (the relay counts closed connections down).
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        assert.equal(await echoThrough(stack, 'acme', 'acme is back'), 'acme is back');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });

  it('a connector flooding tunnels is bounded by maxTunnelsPerConnector', async () => {
    const rogue = await rogueCredential(stack, 'acme');
    const tunnels: TunnelConnection[] = [];
    const errors: string[] = [];
    for (let slot = 0; slot < MAX_TUNNELS + 6; slot++) {
      try {
        tunnels.push(
          await dialTunnel({
            relayUrl: `tls://relay.localhost:${stack.relay.port}`,
            connectTo: { host: '127.0.0.1', port: stack.relay.port },
            relayCaPem: stack.relay.caPem,
            credential: rogue,
            connectorId: rogue.connectorId,
            slot,
            proxy: false,
            onStream: (stream) => stream.destroy(),
          }),
        );
      } catch (err) {
        errors.push((err as { code?: string }).code ?? String(err));
      }
    }
    try {
      assert.equal(tunnels.length, MAX_TUNNELS);
      assert.deepEqual([...new Set(errors)], [TunnelCodes.SLOT_INVALID]);
      const mine = stack.relay.tunnels().filter((t) => t.connectorId === rogue.connectorId);
      assert.equal(mine.length, MAX_TUNNELS);
      await globexWorks();
    } finally {
      for (const t of tunnels) t.destroy();
    }
    await until(
      () => !stack.relay.tunnels().some((t) => t.connectorId === rogue.connectorId),
      5000,
      'rogue tunnels gone',
    );
  });

  it('a connector that opens streams toward the relay (it may not: the relay is the h2 client) loses its tunnel', async () => {
    const rogue = await rogueCredential(stack, 'acme');
    const socket = await rawTunnel(rogue);
    // A flood of server-initiated streams (even ids) and a PUSH_PROMISE, which the relay disabled.
    const flood: Buffer[] = [];
    for (let id = 2; id <= 400; id += 2)
      flood.push(h2Frame(H2.HEADERS, H2.END_HEADERS, id, HPACK_STATUS_200));
    flood.push(
      h2Frame(
        H2.PUSH_PROMISE,
        H2.END_HEADERS,
        1,
        Buffer.concat([Buffer.from([0, 0, 0, 2]), HPACK_STATUS_200]),
      ),
    );
    socket.write(Buffer.concat(flood));
    assert.equal(await closedWithin(socket, 3000), true, 'the relay ended the tunnel');
    await until(
      () => !stack.relay.tunnels().some((t) => t.connectorId === rogue.connectorId),
      3000,
      'tunnel deregistered',
    );
    await globexWorks();
    assert.equal(
      await echoThrough(stack, 'acme', 'acme via its real connector'),
      'acme via its real connector',
    );
  });
});

/**
 * A hand-made tunnel: TLS with the tunnel ALPN and a real connector credential, the HTTP/2 server
 * preface, and a correct hello — then it is registered and the test owns the raw bytes.
 */
async function rawTunnel(credential: {
  certPem: string;
  keyPem: string;
  connectorId: string;
}): Promise<tls.TLSSocket> {
  const socket = await dialRelayHost({
    port: stack.relay.port,
    caPem: stack.relay.caPem,
    credential,
    alpn: [TUNNEL_ALPN],
  });
  const inbound = collect(socket);
  socket.write(h2Frame(H2.SETTINGS, 0, 0));
  await until(
    () =>
      h2FrameHeaders(inbound.bytes(), H2_PREFACE.length).some(
        (f) => f.type === H2.HEADERS && f.streamId === 1,
      ),
    3000,
    'the relay asking for the hello',
  );
  const hello = Buffer.from(JSON.stringify({ connectorId: credential.connectorId, slot: 0, version: 1 }));
  socket.write(
    Buffer.concat([
      h2Frame(H2.SETTINGS, H2.ACK, 0),
      h2Frame(H2.HEADERS, H2.END_HEADERS, 1, HPACK_STATUS_200),
      h2Frame(H2.DATA, H2.END_STREAM, 1, hello),
    ]),
  );
  await until(
    () => stack.relay.tunnels().some((t) => t.connectorId === credential.connectorId),
    3000,
    'raw tunnel registered',
  );
  return socket;
}

describe('garbage on the tunnel endpoint', () => {
  const cases: Array<[string, Buffer]> = [
    ['random bytes instead of the HTTP/2 server preface', randomBytes(4096)],
    [
      'a frame claiming 16 MiB (above the 16 KiB frame size)',
      h2Frame(H2.DATA, 0, 1, randomBytes(64), 0xffffff),
    ],
    [
      'a SETTINGS frame with a length that is not a multiple of 6',
      h2Frame(H2.SETTINGS, 0, 0, randomBytes(7)),
    ],
    [
      'a WINDOW_UPDATE that overflows the window',
      Buffer.concat([
        h2Frame(H2.SETTINGS, 0, 0),
        h2Frame(H2.WINDOW_UPDATE, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])),
      ]),
    ],
  ];
  for (const [name, bytes] of cases) {
    it(`HTTP/2 over TLS: ${name} ends that tunnel only`, async () => {
      const rogue = await rogueCredential(stack, 'acme');
      const socket = await dialRelayHost({
        port: stack.relay.port,
        caPem: stack.relay.caPem,
        credential: rogue,
        alpn: [TUNNEL_ALPN],
      });
      socket.resume();
      socket.write(bytes);
      assert.equal(await closedWithin(socket, 4000), true);
      assert.ok(!stack.relay.tunnels().some((t) => t.connectorId === rogue.connectorId));
      await globexWorks();
    });
  }

  it('a tunnel that never sends its hello is dropped at the tunnel hello timeout', async () => {
    const rogue = await rogueCredential(stack, 'acme');
    const socket = await dialRelayHost({
      port: stack.relay.port,
      caPem: stack.relay.caPem,
      credential: rogue,
      alpn: [TUNNEL_ALPN],
    });
    socket.resume();
    assert.equal(await closedWithin(socket, 4000), true);
  });

  it('a WebSocket upgrade without a connector certificate is refused with 403', async () => {
    const socket = await dialRelayHost({
      port: stack.relay.port,
      caPem: stack.relay.caPem,
      alpn: ['http/1.1'],
    });
    const inbound = collect(socket);
    socket.write(upgradeRequest());
    await until(() => inbound.bytes().includes('\r\n\r\n'), 3000, 'upgrade answer');
    assert.match(inbound.bytes().toString('latin1'), /^HTTP\/1\.1 403 [\s\S]*AIRLOCK_TUNNEL_CERT_MISSING/);
    assert.equal(await closedWithin(socket, 3000), true);
  });

  const wsCases: Array<[string, () => Buffer]> = [
    ['an unmasked client frame', () => wsFrame(0x2, randomBytes(32), { masked: false })],
    ['a reserved opcode', () => wsFrame(0x3, randomBytes(8))],
    [
      'a frame claiming 1 TiB (above the 1 MiB message limit)',
      () => wsFrame(0x2, Buffer.alloc(0), { claimedLength: 1n << 40n }),
    ],
    ['a binary frame of garbage instead of HTTP/2', () => wsFrame(0x2, randomBytes(2048))],
    ['a text frame with invalid UTF-8', () => wsFrame(0x1, Buffer.from([0xff, 0xfe, 0xc3, 0x28]))],
  ];
  for (const [name, frame] of wsCases) {
    it(`WebSocket tunnel: ${name} ends that tunnel only`, async () => {
      const rogue = await rogueCredential(stack, 'acme');
      const socket = await dialRelayHost({
        port: stack.relay.port,
        caPem: stack.relay.caPem,
        credential: rogue,
        alpn: ['http/1.1'],
      });
      const inbound = collect(socket);
      socket.write(upgradeRequest());
      await until(() => inbound.bytes().includes('\r\n\r\n'), 3000, 'upgrade answer');
      assert.match(inbound.bytes().toString('latin1'), /^HTTP\/1\.1 101 /);
      socket.write(frame());
      assert.equal(await closedWithin(socket, 4000), true);
      await globexWorks();
    });
  }
});

function upgradeRequest(): string {
  return (
    'GET /v1/tunnel HTTP/1.1\r\nHost: relay.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

describe('malformed ClientHellos', () => {
  const ALERT = (description: number) => Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]);

  async function exchange(bytes: Buffer): Promise<Buffer> {
    const socket = await rawConnect();
    const inbound = collect(socket);
    socket.write(bytes);
    assert.equal(await closedWithin(socket, 4000), true, 'the relay closed the connection');
    return inbound.bytes();
  }

  it('not TLS, oversized, unknown tenant, foreign domain, no SNI: an alert and a close', async () => {
    const handshakeFailure = ALERT(40);
    const unrecognizedName = ALERT(112);
    assert.deepEqual(
      await exchange(Buffer.from('GET / HTTP/1.1\r\nHost: acme.localhost\r\n\r\n')),
      handshakeFailure,
    );
    const oversized = Buffer.concat([
      Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff]),
      randomBytes(64),
    ]);
    assert.deepEqual(await exchange(oversized), handshakeFailure);
    assert.deepEqual(
      await exchange(await captureClientHello({ servername: 'nobody.localhost' })),
      unrecognizedName,
    );
    assert.deepEqual(
      await exchange(await captureClientHello({ servername: 'acme.localhost.evil.example' })),
      unrecognizedName,
    );
    assert.deepEqual(await exchange(await captureClientHello({})), unrecognizedName);
    await globexWorks();
  });

  it('random bytes (property-based) never crash the relay nor reach a tenant', async () => {
    const before =
      (await stack.relay.metrics.registry.getSingleMetricAsString('airlock_relay_agent_connections_total')) ??
      '';
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), async (bytes) => {
        const socket = await rawConnect();
        socket.write(Buffer.from(bytes));
        socket.end();
        return closedWithin(socket, HELLO_TIMEOUT_MS + 3000);
      }),
      { numRuns: 25 },
    );
    const afterText =
      (await stack.relay.metrics.registry.getSingleMetricAsString('airlock_relay_agent_connections_total')) ??
      '';
    assert.equal(afterText.match(/tenant="acme"\} (\d+)/)?.[1], before.match(/tenant="acme"\} (\d+)/)?.[1]);
    await globexWorks();
  });
});
