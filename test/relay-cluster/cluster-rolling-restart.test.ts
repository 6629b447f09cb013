/**
 * Rolling restart of a three-node relay cluster (real `airlock relay` processes behind HAProxy) while
 * agents call continuously: each node in turn gets SIGTERM (drain: `/readyz` 503, its connectors move
 * their tunnels to other nodes before letting go, open streams finish), exits, and starts again; the
 * next node is restarted once the connector's tunnels are back on two distinct nodes. Also
 * `airlock relay drain --admin` (POST /drain): `/readyz` turns 503 at once.
 *
 * Agents open a connection per call (a fresh SDK client): connections are what the load balancer
 * spreads and a drained node waits for. A long-lived keep-alive agent connection to a drained node is
 * cut when `drainGraceMs` ends (see the README).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from '../e2e/cli-process.js';
import {
  type ClusterNodeProcess,
  type ClusterUnderTest,
  callLoop,
  eventually,
  oneCall,
  startCluster,
} from './cluster-processes.js';

let cluster: ClusterUnderTest;

before(async () => {
  cluster = await startCluster(3);
});
after(() => cluster?.close());

const readyz = (port: number) => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status);

/**
 * Waits until a drained node has closed (its admin listener is gone) and its process has exited by
 * itself: nothing may keep it alive after the drain (store connections, presence, node links). The
 * deadline is far below the PostgreSQL pool's idle timeout (30 s), which used to keep it alive.
 */
async function closed(node: ClusterNodeProcess): Promise<void> {
  await eventually(
    'the node closed',
    () =>
      readyz(node.adminPort).then(
        () => undefined,
        () => true,
      ),
    60_000,
  );
  const child = node.process?.child;
  await eventually(
    `${node.id} exited by itself after the drain`,
    async () => (child && (child.exitCode !== null || child.signalCode !== null) ? true : undefined),
    15_000,
  );
  assert.equal(child?.exitCode, 0, `${node.id} exit code`);
}

async function spreadOverTwoNodes(): Promise<string[]> {
  return eventually('tunnels on two distinct nodes', async () => {
    const nodes = await cluster.nodesWithTunnels();
    return nodes.length >= 2 ? nodes : undefined;
  });
}

test('rolling restart with drain during continuous calls drops no call', async () => {
  await spreadOverTwoNodes();
  const calls = callLoop(cluster.conn, 3);
  try {
    for (const node of cluster.nodes) {
      const before = calls.stats.ok;
      await eventually(
        'calls flowing',
        async () => (calls.stats.ok >= before + 20 ? true : undefined),
        60_000,
      );
      assert.ok(node.process);
      const old = node.process;
      const t0 = Date.now();
      old.child.kill('SIGTERM');
      await closed(node);
      console.log(
        `${node.id} drained and closed in ${Date.now() - t0} ms (SIGTERM at ${t0}); calls ok ${calls.stats.ok}`,
      );
      if (Date.now() - t0 > 5000) console.log(old.stderr().slice(-3000));
      await cluster.startNode(node);
      await eventually(`${node.id} ready again`, async () =>
        (await readyz(node.adminPort)) === 200 ? true : undefined,
      );
      await spreadOverTwoNodes();
    }
    const after = calls.stats.ok;
    await eventually('calls after the restarts', async () =>
      calls.stats.ok >= after + 20 ? true : undefined,
    );
  } finally {
    await calls.stop();
  }
  console.log(`rolling restart: ${calls.stats.ok} ok, ${calls.stats.failed} failed`);
  assert.deepEqual(calls.stats.failures, [], 'no call failed');
  assert.ok(calls.stats.ok > 100);
});

test('airlock relay drain: /readyz turns 503 at once, the node leaves, calls go on', async () => {
  const node = cluster.nodes[2];
  assert.ok(node?.process);
  assert.equal(await readyz(node.adminPort), 200);
  await runCli(['relay', 'drain', '--admin', `127.0.0.1:${node.adminPort}`]);
  const status = await readyz(node.adminPort).catch(() => 503);
  assert.equal(status, 503, 'not ready while draining');
  await closed(node);
  await spreadOverTwoNodes();
  for (let i = 0; i < 5; i++) await oneCall(cluster.conn, `after drain ${i}`);
});
