/**
 * Two relay nodes in one cluster (Redis presence, node link over mutual TLS), one connector whose
 * tunnels are all on node A: an agent that lands on node B is spliced, as raw TLS bytes, to node A and
 * its calls work; B never holds a tunnel, so it cannot have decrypted anything (it has no tenant key).
 * When A leaves, B stops routing there at once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { Redis } from 'ioredis';
import { connectToTenant } from '../../src/agent/index.js';
import { type Relay, startRelay } from '../../src/relay/relay-server.js';
import { DOMAIN, everythingUpstream, type Stack, startStack } from '../e2e/airlock-stack.js';
import { until } from '../fixtures/wait-until.js';

const REDIS_URL = process.env.AIRLOCK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `airlock-test-cluster:${randomUUID()}:`;
const clusterOf = (nodeId: string) => ({
  nodeId,
  presenceUrl: REDIS_URL,
  presencePrefix: prefix,
  peerListen: '127.0.0.1:0',
  presenceTtlMs: 1500,
  presenceHeartbeatMs: 300,
  routeCacheMs: 0,
});

let stack: Stack;
let nodeB: Relay;

before(async () => {
  stack = await startStack({
    upstreams: () => ({ everything: everythingUpstream() }),
    relay: { cluster: clusterOf('node-a') },
  });
  nodeB = await startRelay({
    domain: DOMAIN,
    host: '127.0.0.1',
    port: 0,
    store: stack.relayStore,
    identity: stack.relayIdentity,
    // Not offered to connectors (0.0.0.0 is not dialable): the tunnels stay on node A for this test.
    cluster: { ...clusterOf('node-b'), publicAdvertise: '0.0.0.0:1' },
  });
});

after(async () => {
  await nodeB?.close();
  await stack?.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

async function agentVia(relay: Relay): Promise<Client> {
  const conn = { ...stack.tenant('acme').connection(), connectTo: { host: '127.0.0.1', port: relay.port } };
  return connectToTenant(conn);
}

test('an agent that lands on a node without the tenant tunnel is spliced to the node that has it', async () => {
  assert.ok(stack.relay.tunnels().length > 0, 'the connector has tunnels on node A');
  assert.equal(nodeB.tunnels().length, 0, 'node B holds no tunnel of the tenant');
  await until('node A in the presence store', async () =>
    (await nodeB.cluster?.nodesFor('acme'))?.some((n) => n.id === 'node-a'),
  );
  const client = await agentVia(nodeB);
  try {
    const tools = await client.listTools();
    assert.ok(Array.isArray(tools.tools));
    const splicedOut = await nodeB.metrics.registry.getSingleMetricAsString('airlock_relay_splices_total');
    assert.match(splicedOut, /direction="out"\} [1-9]/);
    const splicedIn = await stack.relay.metrics.registry.getSingleMetricAsString(
      'airlock_relay_splices_total',
    );
    assert.match(splicedIn, /direction="in"\} [1-9]/);
  } finally {
    await client.close();
  }
});

test('both nodes see each other; an unknown tenant on B is refused as on a single node', async () => {
  const nodes = await nodeB.cluster?.nodes();
  assert.deepEqual(nodes?.map((n) => n.id).sort(), ['node-a', 'node-b']);
  const conn = {
    ...stack.tenant('acme').connection(),
    url: `https://nobody.${DOMAIN}:${nodeB.port}/mcp`,
    connectTo: { host: '127.0.0.1', port: nodeB.port },
  };
  await assert.rejects(connectToTenant(conn));
});

test('when the node holding the tunnel leaves, the other node stops routing there', async () => {
  await stack.relay.close();
  await until('node A gone from presence', async () => (await nodeB.cluster?.nodesFor('acme'))?.length === 0);
  await assert.rejects(agentVia(nodeB));
});
