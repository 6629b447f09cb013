/**
 * Garbage on the relay's wire, each refusal bounded and leaving the other tenant (`globex`) working:
 * garbage and oversized HTTP/2 and WebSocket frames on the tunnel endpoint, a tunnel that never says
 * hello, a WebSocket upgrade without a connector certificate, and malformed ClientHellos (fixed cases
 * and property-based random bytes). Real relay, real connectors, loopback only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TUNNEL_ALPN } from '../../src/tunnel/protocol.js';
import { captureClientHello } from '../relay/capture-client-hello.js';
import { rogueCredential } from './abuse-stack.js';
import { closedWithin, collect, dialRelayHost, H2, h2Frame, until, wsFrame } from './raw-wire.js';
import { HELLO_TIMEOUT_MS, useRelayAbuseStack } from './relay-abuse-stack.js';

const abuse = useRelayAbuseStack();

/** Bytes that are not a valid HTTP/2 tunnel opening, each with what it is. */
const H2_GARBAGE: Array<[string, Buffer]> = [
  ['random bytes instead of the HTTP/2 server preface', randomBytes(4096)],
  [
    'a frame claiming 16 MiB (above the 16 KiB frame size)',
    h2Frame(H2.DATA, 0, 1, randomBytes(64), 0xffffff),
  ],
  ['a SETTINGS frame with a length that is not a multiple of 6', h2Frame(H2.SETTINGS, 0, 0, randomBytes(7))],
  [
    'a WINDOW_UPDATE that overflows the window',
    Buffer.concat([
      h2Frame(H2.SETTINGS, 0, 0),
      h2Frame(H2.WINDOW_UPDATE, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])),
    ]),
  ],
];

/** WebSocket frames a tunnel must not accept, each with what it is. */
const WS_GARBAGE: Array<[string, () => Buffer]> = [
  ['an unmasked client frame', () => wsFrame(0x2, randomBytes(32), { masked: false })],
  ['a reserved opcode', () => wsFrame(0x3, randomBytes(8))],
  [
    'a frame claiming 1 TiB (above the 1 MiB message limit)',
    () => wsFrame(0x2, Buffer.alloc(0), { claimedLength: 1n << 40n }),
  ],
  ['a binary frame of garbage instead of HTTP/2', () => wsFrame(0x2, randomBytes(2048))],
  ['a text frame with invalid UTF-8', () => wsFrame(0x1, Buffer.from([0xff, 0xfe, 0xc3, 0x28]))],
];

describe('garbage on the tunnel endpoint', () => {
  for (const [name, bytes] of H2_GARBAGE) {
    it(`HTTP/2 over TLS: ${name} ends that tunnel only`, async () => {
      const rogue = await rogueCredential(abuse.stack, 'acme');
      const socket = await dialRelayHost({
        port: abuse.stack.relay.port,
        caPem: abuse.stack.relay.caPem,
        credential: rogue,
        alpn: [TUNNEL_ALPN],
      });
      socket.resume();
      socket.write(bytes);
      assert.equal(await closedWithin(socket, 4000), true);
      assert.ok(!abuse.stack.relay.tunnels().some((t) => t.connectorId === rogue.connectorId));
      await abuse.globexWorks();
    });
  }

  it('a tunnel that never sends its hello is dropped at the tunnel hello timeout', async () => {
    const rogue = await rogueCredential(abuse.stack, 'acme');
    const socket = await dialRelayHost({
      port: abuse.stack.relay.port,
      caPem: abuse.stack.relay.caPem,
      credential: rogue,
      alpn: [TUNNEL_ALPN],
    });
    socket.resume();
    assert.equal(await closedWithin(socket, 4000), true);
  });

  it('a WebSocket upgrade without a connector certificate is refused with 403', async () => {
    const socket = await dialRelayHost({
      port: abuse.stack.relay.port,
      caPem: abuse.stack.relay.caPem,
      alpn: ['http/1.1'],
    });
    const inbound = collect(socket);
    socket.write(upgradeRequest());
    await until(() => inbound.bytes().includes('\r\n\r\n'), 3000, 'upgrade answer');
    assert.match(inbound.bytes().toString('latin1'), /^HTTP\/1\.1 403 [\s\S]*AIRLOCK_TUNNEL_CERT_MISSING/);
    assert.equal(await closedWithin(socket, 3000), true);
  });

  for (const [name, frame] of WS_GARBAGE) {
    it(`WebSocket tunnel: ${name} ends that tunnel only`, async () => {
      const rogue = await rogueCredential(abuse.stack, 'acme');
      const socket = await dialRelayHost({
        port: abuse.stack.relay.port,
        caPem: abuse.stack.relay.caPem,
        credential: rogue,
        alpn: ['http/1.1'],
      });
      const inbound = collect(socket);
      socket.write(upgradeRequest());
      await until(() => inbound.bytes().includes('\r\n\r\n'), 3000, 'upgrade answer');
      assert.match(inbound.bytes().toString('latin1'), /^HTTP\/1\.1 101 /);
      socket.write(frame());
      assert.equal(await closedWithin(socket, 4000), true);
      await abuse.globexWorks();
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
    const socket = await abuse.rawConnect();
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
    await abuse.globexWorks();
  });

  it('random bytes (property-based) never crash the relay nor reach a tenant', async () => {
    const before =
      (await abuse.stack.relay.metrics.registry.getSingleMetricAsString(
        'airlock_relay_agent_connections_total',
      )) ?? '';
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), async (bytes) => {
        const socket = await abuse.rawConnect();
        socket.write(Buffer.from(bytes));
        socket.end();
        return closedWithin(socket, HELLO_TIMEOUT_MS + 3000);
      }),
      { numRuns: 25 },
    );
    const afterText =
      (await abuse.stack.relay.metrics.registry.getSingleMetricAsString(
        'airlock_relay_agent_connections_total',
      )) ?? '';
    assert.equal(afterText.match(/tenant="acme"\} (\d+)/)?.[1], before.match(/tenant="acme"\} (\d+)/)?.[1]);
    await abuse.globexWorks();
  });
});
