/**
 * A stranger cannot lock a tenant out, and the tenant endpoint speaks TLS 1.3 only. Real relay, real
 * connectors (test/e2e/airlock-stack.ts), attackers on other loopback addresses (127.0.0.2, .3: other
 * sources for the relay), bounded loops, no wall-clock assertions.
 *
 * - The lock-out attack of issue 13: many TLS connections to `acme` from one source, each sending an
 *   unauthenticated `GET /mcp` every so often. The connector answers 401 with `Connection: close` and
 *   closes; the relay lets one source hold only its share of acme's slots; acme's real agent keeps being
 *   served throughout.
 * - Silent sockets before the ClientHello: one source holds at most `maxConnectionsPerSource`.
 * - A TLS 1.2 agent is refused, through the relay; the agent library refuses a TLS 1.2 server.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { createTenantFetch } from '../../src/agent/tenant-fetch.js';
import type { Stack } from '../e2e/airlock-stack.js';
import { echoThrough, startAbuseStack } from './abuse-stack.js';
import { closedWithin, collect, until } from './raw-wire.js';

const PER_TENANT = 12;
const SHARE = 0.25; // → 3 slots of acme per source
const PER_SOURCE = 20;
const ATTACKER = '127.0.0.2';
const SILENT = '127.0.0.3';
const ATTACK_CONNECTIONS = 30;
const LEGIT_CALLS = 8;

let stack: Stack;

before(async () => {
  stack = await startAbuseStack({
    maxAgentConnectionsPerTenant: PER_TENANT,
    maxTenantSharePerSource: SHARE,
    maxConnectionsPerSource: PER_SOURCE,
    clientHelloTimeoutMs: 20_000,
    refusalLogIntervalMs: 200,
  });
});
after(() => stack.close());

async function refusals(reason: string): Promise<number> {
  const text =
    (await stack.relay.metrics.registry.getSingleMetricAsString('airlock_relay_routing_failures_total')) ??
    '';
  return Number(new RegExp(`reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

/** One attacker TLS connection to acme (it has acme's public CA, no client certificate). */
function attackerConnect(): Promise<tls.TLSSocket | undefined> {
  const acme = stack.tenant('acme');
  const tcp = net.connect({ host: '127.0.0.1', port: stack.relay.port, localAddress: ATTACKER });
  tcp.on('error', () => {});
  const socket = tls.connect({
    socket: tcp,
    servername: acme.host,
    ca: acme.agent.caPem,
  });
  return new Promise((resolve) => {
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

describe('tenant lock-out by a stranger', () => {
  it('many unauthenticated connections from one source do not stop acme’s agent from being served', async () => {
    const open = new Set<tls.TLSSocket>();
    const answers: string[] = [];
    let legitDone = false;
    const attack = async () => {
      for (let round = 0; round < 40 && !legitDone; round++) {
        const fresh = await Promise.all(
          Array.from({ length: ATTACK_CONNECTIONS - open.size }, attackerConnect),
        );
        for (const socket of fresh) if (socket) open.add(socket);
        const sent = [...open].map((socket) => {
          const inbound = collect(socket);
          socket.write(`GET /mcp HTTP/1.1\r\nHost: ${stack.tenant('acme').host}\r\n\r\n`);
          return closedWithin(socket, 5000).then(() => {
            answers.push(inbound.bytes().toString('latin1'));
            open.delete(socket);
          });
        });
        await Promise.all(sent);
      }
    };
    const legit = async () => {
      try {
        for (let i = 0; i < LEGIT_CALLS; i++)
          assert.equal(await echoThrough(stack, 'acme', `real ${i}`), `real ${i}`);
      } finally {
        legitDone = true;
      }
    };
    try {
      await Promise.all([attack(), legit()]);
    } finally {
      for (const socket of open) socket.destroy();
    }
    // The attack really ran: its connections got 401 + Connection: close and were closed by the connector...
    const refused = answers.filter((a) => /^HTTP\/1\.1 401 /.test(a));
    assert.ok(refused.length > 0, 'the attacker got 401 answers');
    assert.ok(
      refused.every((a) => /\r\nconnection: close\r\n/i.test(a)),
      'every 401 closes the connection',
    );
    // ... and the relay kept it to its share of acme's slots.
    assert.ok((await refusals('tenant_source_share')) > 0, 'the attacker hit the per-tenant share');
    assert.equal(await echoThrough(stack, 'acme', 'after the attack'), 'after the attack');
  });

  it('silent sockets from one source stop at maxConnectionsPerSource before the ClientHello; others are served', async () => {
    const before = await refusals('source_connection_limit');
    const sockets = await Promise.all(
      Array.from({ length: PER_SOURCE + 10 }, async () => {
        const socket = net.connect({ host: '127.0.0.1', port: stack.relay.port, localAddress: SILENT });
        socket.on('error', () => {});
        socket.resume();
        await new Promise((resolve) => socket.once('connect', resolve));
        return socket;
      }),
    );
    try {
      await until(
        () => sockets.filter((s) => s.destroyed).length >= 10,
        5000,
        'the sockets over the cap closed',
      );
      assert.equal(await refusals('source_connection_limit'), before + 10);
      assert.equal(
        sockets.filter((s) => !s.destroyed).length,
        PER_SOURCE,
        'the first ones are held (hello timeout)',
      );
      assert.equal(await echoThrough(stack, 'acme', 'other source'), 'other source');
      assert.equal(await echoThrough(stack, 'globex', 'other tenant'), 'other tenant');
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe('TLS 1.3 only on the tenant endpoint', () => {
  it('a TLS 1.2 agent (with a valid client certificate) is refused through the relay', async () => {
    const acme = stack.tenant('acme');
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: stack.relay.port,
        servername: acme.host,
        ca: acme.agent.caPem,
        cert: acme.agent.certPem,
        key: acme.agent.keyPem,
        maxVersion: 'TLSv1.2',
      });
      socket.once('secureConnect', () => {
        resolve(`connected with ${socket.getProtocol()}`);
        socket.destroy();
      });
      socket.once('error', (err) => resolve(err.message));
    });
    assert.match(outcome, /protocol version|unsupported protocol|wrong version/i);
    assert.equal(await echoThrough(stack, 'acme', 'TLS 1.3 agent'), 'TLS 1.3 agent');
  });

  async function fetchFrom(maxVersion: tls.SecureVersion): Promise<string> {
    const acme = stack.tenant('acme');
    const pki = acme.connector.pki;
    const server = https.createServer(
      { key: pki.serverKeyPem, cert: pki.serverCertPem, maxVersion },
      (_req, res) => res.end('served'),
    );
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const tenantFetch = createTenantFetch({
      url: `https://${acme.host}:${port}/mcp`,
      caPem: acme.agent.caPem,
      connectTo: { host: '127.0.0.1', port },
    });
    try {
      return await (await tenantFetch(`https://${acme.host}:${port}/mcp`)).text();
    } catch (err) {
      return `refused: ${String((err as { cause?: Error }).cause?.message ?? (err as Error).message)}`;
    } finally {
      await tenantFetch.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  it('the agent library refuses a tenant endpoint that offers only TLS 1.2 (and is served by the same one on 1.3)', async () => {
    assert.match(await fetchFrom('TLSv1.2'), /^refused: .*(protocol version|unsupported protocol)/i);
    assert.equal(await fetchFrom('TLSv1.3'), 'served');
  });
});
