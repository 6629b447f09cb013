/**
 * Attacks on the relay's one public port, each bounded and each leaving the other tenant (`globex`)
 * working: slowloris before and after the ClientHello, a flood of agent connections for one tenant,
 * a connector that floods tunnels or opens streams it may not open. Real relay, real connectors,
 * loopback only. Garbage on the wire and malformed ClientHellos: relay-abuse-wire.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { TunnelCodes } from '../../src/tunnel/protocol.js';
import { dialTunnel, type TunnelConnection } from '../../src/tunnel/tunnel-client.js';
import { until as waitUntil } from '../fixtures/wait-until.js';
import { captureClientHello } from '../relay/capture-client-hello.js';
import { echoThrough, rogueCredential } from './abuse-stack.js';
import { closedWithin, dialRelayHost, H2, HPACK_STATUS_200, h2Frame, until } from './raw-wire.js';
import {
  HELLO_TIMEOUT_MS,
  MAX_TUNNELS,
  PER_TENANT,
  rawTunnel,
  useRelayAbuseStack,
} from './relay-abuse-stack.js';

const abuse = useRelayAbuseStack();

describe('slowloris', () => {
  it('a ClientHello trickled byte by byte is cut at the hello timeout; globex keeps working meanwhile', async () => {
    const hello = await captureClientHello({ servername: 'acme.localhost' });
    const sockets = await Promise.all(Array.from({ length: 30 }, () => abuse.rawConnect()));
    let sent = 0;
    const trickle = setInterval(() => {
      for (const s of sockets)
        if (!s.destroyed && sent < hello.length - 1) s.write(hello.subarray(sent, sent + 1));
      sent++;
    }, 100);
    try {
      await abuse.globexWorks('during the trickle');
      const closed = await Promise.all(sockets.map((s) => closedWithin(s, HELLO_TIMEOUT_MS + 4000)));
      assert.equal(closed.filter(Boolean).length, sockets.length, 'every trickling socket was dropped');
      assert.ok(sent * 100 < HELLO_TIMEOUT_MS + 4000);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
    await abuse.globexWorks();
  });

  it('silent connections are dropped at the hello timeout', async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => abuse.rawConnect()));
    const closed = await Promise.all(sockets.map((s) => closedWithin(s, HELLO_TIMEOUT_MS + 4000)));
    assert.equal(closed.filter(Boolean).length, sockets.length);
    await abuse.globexWorks();
  });

  it('a TLS handshake left half done on the relay host is cut at the handshake timeout', async () => {
    const hello = await captureClientHello({ servername: 'relay.localhost', ALPNProtocols: ['http/1.1'] });
    const socket = await abuse.rawConnect();
    socket.write(hello); // ... and never answer the ServerHello
    assert.equal(await closedWithin(socket, 5000), true);
    await abuse.globexWorks();
  });

  it('headers trickled to the relay host HTTPS (enrollment API) are cut by a header timeout', async () => {
    const socket = await dialRelayHost({
      port: abuse.stack.relay.port,
      caPem: abuse.stack.relay.caPem,
      alpn: ['http/1.1'],
    });
    socket.resume();
    socket.write('POST /v1/enroll HTTP/1.1\r\nHost: relay.localhost\r\n');
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('X-Slow: 1\r\n');
    }, 250);
    try {
      await abuse.globexWorks('during the header trickle');
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
    const { open, refused } = await floodAgentConnections('acme', PER_TENANT * 3);
    try {
      assert.ok(open.length <= PER_TENANT, `at most ${PER_TENANT} open, got ${open.length}`);
      assert.ok(refused.length >= PER_TENANT * 2);
      assert.match(refused[0] ?? '', /alert|internal error|socket hang up|ECONNRESET/i);
      await abuse.globexWorks('while acme is flooded');
    } finally {
      for (const socket of open) socket.destroy();
    }
    // Once the flood is gone acme is served again (the relay counts closed connections down).
    const echoed = await waitUntil('acme served again', () =>
      echoThrough(abuse.stack, 'acme', 'acme is back').catch(() => undefined),
    );
    assert.equal(echoed, 'acme is back');
  });

  it('a connector flooding tunnels is bounded by maxTunnelsPerConnector', async () => {
    const rogue = await rogueCredential(abuse.stack, 'acme');
    const { tunnels, errors } = await floodTunnels(rogue, MAX_TUNNELS + 6);
    try {
      assert.equal(tunnels.length, MAX_TUNNELS);
      assert.deepEqual([...new Set(errors)], [TunnelCodes.SLOT_INVALID]);
      const mine = abuse.stack.relay.tunnels().filter((t) => t.connectorId === rogue.connectorId);
      assert.equal(mine.length, MAX_TUNNELS);
      await abuse.globexWorks();
    } finally {
      for (const t of tunnels) t.destroy();
    }
    await until(
      () => !abuse.stack.relay.tunnels().some((t) => t.connectorId === rogue.connectorId),
      5000,
      'rogue tunnels gone',
    );
  });

  it('a connector that opens streams toward the relay (it may not: the relay is the h2 client) loses its tunnel', async () => {
    const rogue = await rogueCredential(abuse.stack, 'acme');
    const socket = await rawTunnel(abuse.stack, rogue);
    socket.write(serverStreamFlood());
    assert.equal(await closedWithin(socket, 3000), true, 'the relay ended the tunnel');
    await until(
      () => !abuse.stack.relay.tunnels().some((t) => t.connectorId === rogue.connectorId),
      3000,
      'tunnel deregistered',
    );
    await abuse.globexWorks();
    assert.equal(
      await echoThrough(abuse.stack, 'acme', 'acme via its real connector'),
      'acme via its real connector',
    );
  });
});

/** Opens `count` agent connections to `tenant` one after the other: the ones open and why the others failed. */
async function floodAgentConnections(
  tenant: string,
  count: number,
): Promise<{ open: tls.TLSSocket[]; refused: string[] }> {
  const target = abuse.stack.tenant(tenant);
  const open: tls.TLSSocket[] = [];
  const refused: string[] = [];
  for (let i = 0; i < count; i++) {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: abuse.stack.relay.port,
      servername: target.host,
      ca: target.agent.caPem,
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
  return { open, refused };
}

/** Dials `count` tunnels (slots 0…count-1) with `rogue`: the ones that opened and the codes of the others. */
async function floodTunnels(
  rogue: Awaited<ReturnType<typeof rogueCredential>>,
  count: number,
): Promise<{ tunnels: TunnelConnection[]; errors: string[] }> {
  const tunnels: TunnelConnection[] = [];
  const errors: string[] = [];
  for (let slot = 0; slot < count; slot++) {
    try {
      tunnels.push(
        await dialTunnel({
          relayUrl: `tls://relay.localhost:${abuse.stack.relay.port}`,
          connectTo: { host: '127.0.0.1', port: abuse.stack.relay.port },
          relayCaPem: abuse.stack.relay.caPem,
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
  return { tunnels, errors };
}

/** A flood of server-initiated streams (even ids) and a PUSH_PROMISE, which the relay disabled. */
function serverStreamFlood(): Buffer {
  const flood: Buffer[] = [];
  for (let id = 2; id <= 400; id += 2) flood.push(h2Frame(H2.HEADERS, H2.END_HEADERS, id, HPACK_STATUS_200));
  flood.push(
    h2Frame(H2.PUSH_PROMISE, H2.END_HEADERS, 1, Buffer.concat([Buffer.from([0, 0, 0, 2]), HPACK_STATUS_200])),
  );
  return Buffer.concat(flood);
}
