/**
 * The pieces of spreading and draining that need no cluster: where a connector's tunnels go
 * (tunnel-spread.ts), what a connector accepts as a cluster view (a malformed or oversized one is
 * ignored), and the admin listener's `/readyz` and `POST /drain` (a cross-site page cannot drain a node).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { parseNodeAddress, pickNode, tunnelToSpread } from '../../src/connector/tunnel-spread.js';
import { startAdminServer } from '../../src/relay/admin-server.js';
import { clusterViewOf } from '../../src/relay/cluster/cluster-view-push.js';
import { parseClusterView } from '../../src/tunnel/protocol.js';

const nodes = [
  { id: 'a', address: '10.0.0.1:443' },
  { id: 'b', address: '10.0.0.2:443' },
  { id: 'c', address: '10.0.0.3:443' },
];

test('two tunnels on one node: one moves; on two nodes, or with one node only: none', () => {
  const same = [
    { node: 'a', activeStreams: 3 },
    { node: 'a', activeStreams: 1 },
  ];
  assert.equal(tunnelToSpread(same, 3), 1, 'the one with fewer streams moves');
  assert.equal(tunnelToSpread(same, 1), undefined, 'a one-node cluster: nowhere to go');
  assert.equal(
    tunnelToSpread(
      [
        { node: 'a', activeStreams: 0 },
        { node: 'b', activeStreams: 0 },
      ],
      3,
    ),
    undefined,
  );
});

test('a target is a node neither used by other tunnels nor excluded (the lost or draining one)', () => {
  for (let i = 0; i < 20; i++) assert.equal(pickNode(nodes, new Set(['a']), new Set(['b']))?.id, 'c');
  assert.equal(pickNode(nodes, new Set(['a', 'c']), new Set(['b'])), undefined);
  assert.deepEqual(parseNodeAddress('[::1]:8443'), { host: '::1', port: 8443 });
  assert.equal(parseNodeAddress('no-port'), undefined);
  assert.equal(parseNodeAddress('host:99999'), undefined);
});

test('a cluster view is validated; junk, wrong types and oversized lists are ignored', () => {
  const view = { node: 'a', draining: false, nodes };
  assert.deepEqual(parseClusterView(JSON.stringify(view)), view);
  assert.equal(parseClusterView('{"node":"a"}'), undefined);
  assert.equal(parseClusterView('not json'), undefined);
  assert.equal(parseClusterView(JSON.stringify({ ...view, draining: 'yes' })), undefined);
  const many = Array.from({ length: 1001 }, (_, i) => ({ id: `n${i}`, address: `10.0.0.1:${i + 1}` }));
  assert.equal(parseClusterView(JSON.stringify({ ...view, nodes: many })), undefined);
});

test('the view a node sends leaves out draining nodes and undialable addresses', () => {
  const node = (id: string, publicAddress: string, draining = false) => ({
    id,
    publicAddress,
    peerAddress: '',
    draining,
    startedAt: 0,
  });
  const view = clusterViewOf(node('a', '10.0.0.1:443', true), [
    node('a', '10.0.0.1:443', true),
    node('b', '10.0.0.2:443'),
    node('c', '0.0.0.0:443'),
    node('d', ''),
  ]);
  assert.deepEqual(view, { node: 'a', draining: true, nodes: [{ id: 'b', address: '10.0.0.2:443' }] });
});

test('admin: /readyz follows readiness, POST /drain starts a drain, a cross-site POST is refused', async () => {
  let ready = true;
  let drains = 0;
  const admin = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    healthy: () => true,
    ready: () => ready,
    onDrain: () => {
      drains++;
      ready = false;
    },
    status: async () => ({ node: 'a' }),
  });
  try {
    const base = `http://127.0.0.1:${admin.port}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const evil = await fetch(`${base}/drain`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(evil.status, 403);
    assert.equal(drains, 0, 'a page on another site cannot drain the node');
    assert.equal((await fetch(`${base}/drain`, { method: 'POST' })).status, 202);
    assert.equal(drains, 1);
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'alive while draining');
    assert.deepEqual(await (await fetch(`${base}/status`)).json(), { node: 'a' });
  } finally {
    await admin.close();
  }
});
