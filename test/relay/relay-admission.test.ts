/**
 * The relay's admission pieces on their own: the per-source cap and per-tenant fairness of
 * AgentAdmission (real sockets on loopback, from two source addresses), the rate-limited refusal log,
 * and per-connection HTTP deadlines on a server that never listens.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { AgentAdmission } from '../../src/relay/agent-admission.js';
import { RefusalLog } from '../../src/relay/refusal-log.js';
import { HttpConnectionDeadlines } from '../../src/tunnel/http-connection-deadlines.js';
import { startRelayFixture, waitFor } from './relay-fixture.js';

let server: net.Server;
const accepted: net.Socket[] = [];
const clients: net.Socket[] = [];

before(async () => {
  server = net.createServer((socket) => accepted.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
after(async () => {
  for (const s of [...accepted, ...clients]) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function connectFrom(localAddress: string): Promise<net.Socket> {
  const before = accepted.length;
  const client = net.connect({
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    localAddress,
  });
  clients.push(client);
  await waitFor(() => accepted.length > before, 2000, 'accepted');
  return accepted[accepted.length - 1] as net.Socket;
}

test('one source holds at most its share of a tenant, another source still gets slots, release frees', async () => {
  const admission = new AgentAdmission({
    maxConnectionsPerSource: 0,
    maxAgentConnectionsPerTenant: 8,
    maxTenantSharePerSource: 0.25,
  });
  assert.equal(admission.maxPerTenantPerSource, 2);
  const a1 = await connectFrom('127.0.0.2');
  const a2 = await connectFrom('127.0.0.2');
  const a3 = await connectFrom('127.0.0.2');
  const b1 = await connectFrom('127.0.0.3');
  const slots = [admission.admitTenant('acme', a1), admission.admitTenant('acme', a2)];
  assert.ok(slots.every((s) => s.ok));
  assert.deepEqual(admission.admitTenant('acme', a3), { ok: false, reason: 'tenant_source_share' });
  assert.ok(admission.admitTenant('globex', a3).ok, 'the share is per tenant');
  assert.ok(admission.admitTenant('acme', b1).ok, 'another source is not affected');
  assert.equal(admission.active('acme'), 3);
  const first = slots[0];
  if (first?.ok) {
    first.release();
    first.release(); // idempotent
  }
  assert.equal(admission.active('acme', '127.0.0.2'), 1);
  assert.ok(admission.admitTenant('acme', a3).ok);
});

test('the tenant cap holds whatever the sources', async () => {
  const admission = new AgentAdmission({
    maxConnectionsPerSource: 0,
    maxAgentConnectionsPerTenant: 2,
    maxTenantSharePerSource: 1,
  });
  const s = await connectFrom('127.0.0.4');
  assert.ok(admission.admitTenant('acme', s).ok);
  assert.ok(admission.admitTenant('acme', s).ok);
  assert.deepEqual(admission.admitTenant('acme', s), { ok: false, reason: 'tenant_connection_limit' });
});

test('the per-source cap counts open sockets and frees a slot on close', async () => {
  const admission = new AgentAdmission({
    maxConnectionsPerSource: 2,
    maxAgentConnectionsPerTenant: 10,
    maxTenantSharePerSource: 1,
  });
  const [x, y, z] = [
    await connectFrom('127.0.0.5'),
    await connectFrom('127.0.0.5'),
    await connectFrom('127.0.0.5'),
  ];
  assert.equal(admission.admitSource(x), true);
  assert.equal(admission.admitSource(y), true);
  assert.equal(admission.admitSource(z), false);
  assert.equal(admission.admitSource(await connectFrom('127.0.0.6')), true, 'another source');
  x.destroy();
  await once(x, 'close');
  assert.equal(admission.admitSource(z), true);
});

test('a flood of refusals becomes one summary line with counts', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const log = new RefusalLog(logger, 60_000);
  for (let i = 0; i < 500; i++)
    log.note(i % 5 === 0 ? 'tenant_source_share' : 'source_connection_limit', { peer: `p${i}` });
  assert.equal(lines.length, 0, 'nothing is logged per refusal');
  log.flush();
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0]?.refused, { tenant_source_share: 100, source_connection_limit: 400 });
  assert.equal(lines[0]?.total, 500);
  log.flush();
  assert.equal(lines.length, 1, 'an empty interval logs nothing');
  log.close();
});

test('HTTP deadlines apply to connections fed by hand to a server that never listens', async () => {
  const http1 = http.createServer((_req, res) => res.end('ok'));
  const deadlines = new HttpConnectionDeadlines(http1, {
    headersTimeoutMs: 300,
    requestTimeoutMs: 300,
    keepAliveTimeoutMs: 100,
  });
  const feeder = net.createServer((socket) => {
    deadlines.watch(socket);
    http1.emit('connection', socket);
  });
  feeder.listen(0, '127.0.0.1');
  await once(feeder, 'listening');
  const port = (feeder.address() as net.AddressInfo).port;
  try {
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    silent.resume(); // read, so the server's FIN is seen
    const slowBody = net.connect(port, '127.0.0.1');
    slowBody.on('error', () => {});
    slowBody.resume();
    const closed = Promise.all([once(silent, 'close'), once(slowBody, 'close')]);
    slowBody.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    const served = net.connect(port, '127.0.0.1');
    let answer = '';
    served.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    const servedClosed = once(served, 'close');
    served.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    // After the answer the keep-alive connection gets a fresh header deadline, and is closed by it.
    await servedClosed;
    assert.match(answer, /^HTTP\/1\.1 200 /);
  } finally {
    http1.close();
    await new Promise((resolve) => feeder.close(resolve));
  }
});

test('the global cap (maxConnections) drops what is over it at accept, and /metrics counts the drops', async () => {
  const fx = await startRelayFixture({ maxConnections: 2, clientHelloTimeoutMs: 10_000 });
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(fx.relay.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.resume();
      sockets.push(socket);
    }
    const dropped = async () => {
      const text =
        (await fx.relay.metrics.registry.getSingleMetricAsString('airlock_relay_routing_failures_total')) ??
        '';
      return Number(/reason="global_connection_limit"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    await waitFor(async () => (await dropped()) >= 3, 5000, 'drops counted');
    assert.equal(await dropped(), 3);
    await waitFor(() => sockets.filter((s) => s.destroyed).length >= 3, 5000, 'dropped sockets closed');
  } finally {
    for (const s of sockets) s.destroy();
    await fx.close();
  }
});
