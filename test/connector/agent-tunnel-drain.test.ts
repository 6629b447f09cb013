/**
 * A tunnel the connector lets go (src/connector/agent-tunnel-drain.ts): the real AgentEndpoint takes
 * agent TLS connections from a real tunnel (both ends over the in-memory dialer). When the tunnel
 * drains, an idle keep-alive agent connection on it is closed once quiet (DRAIN_QUIET_MS), while the tunnel is still there,
 * instead of being cut when the drain's grace period ends; a response under way completes first.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { AgentEndpoint } from '../../src/connector/agent-endpoint.js';
import { memoryTunnelDialer } from '../../src/tunnel/memory-tunnel.js';
import { RelayTunnel } from '../../src/tunnel/relay-tunnel.js';
import { dialTunnel, type TunnelConnection } from '../../src/tunnel/tunnel-client.js';
import {
  type AgentCredentials,
  createTenantKit,
  TENANT_HOST,
  type TenantKit,
} from '../fixtures/tenant-tls-kit.js';
import { until } from '../fixtures/wait-until.js';

/** Long enough that only the feature under test, never the grace period, can close a connection. */
const DRAIN_GRACE_MS = 120_000;
const RELAY_OPTIONS = { heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 60_000, maxStreamsPerTunnel: 10 };
const INFO = { tenant: 'acme', connectorId: 'con_1', transport: 'tls' as const, remoteAddress: 'memory' };

interface Rig {
  kit: TenantKit;
  agent: AgentCredentials;
  endpoint: AgentEndpoint;
  relay: RelayTunnel;
  tunnel: TunnelConnection;
  release?: () => void;
  started?: () => void;
}

async function startRig(rig: Partial<Rig>): Promise<void> {
  const kit = await createTenantKit();
  rig.kit = kit;
  rig.agent = await kit.issueAgent('agent-1');
  rig.endpoint = new AgentEndpoint({
    tls: { keyPem: kit.server.keyPem, certPem: kit.server.certPem, caPem: kit.ca.certPem },
    identities: kit.store.identities,
    // Idle connections are kept far longer than the test runs: only the drain may close them.
    limits: { keepAliveTimeoutMs: DRAIN_GRACE_MS },
    handler: (req, res) => {
      if (req.url !== '/slow') return void res.end('ok');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('started ');
      rig.release = () => res.end('done');
      rig.started?.();
    },
  });
  const dialer = memoryTunnelDialer((relaySide) => {
    const relay = new RelayTunnel(INFO, relaySide, RELAY_OPTIONS);
    rig.relay = relay;
    void relay.requestHello(5_000).then(() => relay.sendReady());
  });
  rig.tunnel = await dialTunnel({
    relayUrl: 'tls://relay.invalid:443',
    credential: { keyPem: '', certPem: '' },
    connectorId: 'con_1',
    slot: 0,
    helloTimeoutMs: 5_000,
    heartbeatIntervalMs: 60_000,
    heartbeatTimeoutMs: 60_000,
    dialer,
    onStream: (stream, meta) => rig.endpoint?.accept(stream, meta.tunnel),
  });
  await until('the relay end available', () => rig.relay?.available === true);
}

/** An agent's keep-alive pool whose connections are tunnel streams the relay opens. */
function agentPool(rig: Rig): https.Agent {
  const pool = new https.Agent({ keepAlive: true, maxSockets: 1 });
  pool.createConnection = () =>
    tls.connect({
      socket: rig.relay.openStream(TENANT_HOST, '192.0.2.7:5000'),
      servername: TENANT_HOST,
      ca: rig.kit.ca.certPem,
      cert: rig.agent.certPem,
      key: rig.agent.keyPem,
    });
  return pool;
}

function get(pool: https.Agent, path: string): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: TENANT_HOST, path, agent: pool }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket as Socket }));
    });
    req.once('error', reject);
  });
}

/**
 * Resolves true if the connector ends `socket`'s connection (the agent reads its end, or the socket
 * closes) while the tunnel has not ended yet, false if the tunnel ended first.
 */
function endsBeforeTunnelEnds(socket: Socket, tunnel: TunnelConnection): Promise<boolean> {
  const ended = Promise.race([once(socket, 'end'), once(socket, 'close')]);
  return Promise.race([ended.then(() => true), tunnel.closed.then(() => false)]);
}

describe('agent keep-alive connections on a draining tunnel', () => {
  const rig: Partial<Rig> = {};
  before(() => startRig(rig));
  after(async () => {
    rig.tunnel?.destroy();
    rig.relay?.destroy();
    await rig.endpoint?.close();
    await rig.kit?.close();
  });

  it('closes an idle keep-alive connection once quiet; a response under way completes first', async () => {
    const full = rig as Rig;
    const idlePool = agentPool(full);
    const idle = await get(idlePool, '/');
    assert.equal(idle.status, 200);
    const busyPool = agentPool(full);
    const underWay = new Promise<void>((resolve) => {
      full.started = resolve;
    });
    const slow = get(busyPool, '/slow');
    await underWay;
    const busySocket = Object.values(busyPool.sockets).flat()[0] as Socket;

    void full.tunnel.drain(DRAIN_GRACE_MS);
    assert.equal(await endsBeforeTunnelEnds(idle.socket, full.tunnel), true, 'idle connection closed');
    assert.equal(busySocket.destroyed, false, 'the busy connection is still serving its response');
    const busyClosed = endsBeforeTunnelEnds(busySocket, full.tunnel);
    full.release?.();
    assert.equal((await slow).status, 200, 'the response under way completed');
    assert.equal(await busyClosed, true, 'then its connection closed, before the tunnel ended');
    idlePool.destroy();
    busyPool.destroy();
  });
});
