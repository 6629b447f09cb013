/**
 * Relay blindness on the SPLICING node (run by cluster-failover.test.ts on its cluster): in a three-node cluster of real processes, the node that holds
 * no tunnel of the tenant only splices agents' raw TLS bytes to a node that does. After canary calls
 * through it, its process memory holds 0 bytes of the canary and of the tenant's keys, while the
 * positive controls (the tenant host name it routed by, the relay's own server key) are found.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertRelayMemoryBlind } from '../e2e/process-memory.js';
import { type ClusterUnderTest, eventually, oneCall } from './cluster-processes.js';

const CANARY = 'CANARY-5e1b77d0-cluster-splice-do-not-leak';

/** Canary calls through the node without a tunnel, then a scan of that node's process memory. */
export async function checkSplicingNodeBlindness(cluster: ClusterUnderTest): Promise<void> {
  const holders = await eventually('tunnels on two nodes', async () => {
    const nodes = await cluster.nodesWithTunnels();
    return nodes.length >= 2 ? nodes : undefined;
  });
  const splicer = cluster.nodes.find((n) => !holders.includes(n.id));
  assert.ok(splicer?.process?.child.pid);
  for (let i = 0; i < 5; i++) {
    await oneCall(cluster.connVia(splicer), `${CANARY}-${i} ${CANARY.repeat(20)}`);
  }
  assert.equal((await cluster.status(splicer)).tunnelsPerTenant.acme ?? 0, 0, 'it never held a tunnel');
  const metrics = await (await fetch(`http://127.0.0.1:${splicer.adminPort}/metrics`)).text();
  assert.match(metrics, /airlock_relay_splices_total\{direction="out"\} [1-9]/);

  const tenantDir = join(cluster.dir, 'connector', 'tenant');
  const tenantKeys = [
    await readFile(join(tenantDir, 'server.key'), 'utf8'),
    await readFile(join(tenantDir, 'ca.key'), 'utf8'),
    cluster.conn.keyPem ?? '',
  ];
  await assertRelayMemoryBlind(splicer.process.child.pid, {
    canary: CANARY,
    tenantKeyPems: tenantKeys,
    relayKeyPem: await readFile(join(cluster.dir, 'relay', 'identity', 'server.key'), 'utf8'),
    tenantHost: 'acme.localhost',
    who: 'the splicing node',
  });
}
