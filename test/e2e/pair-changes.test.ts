/**
 * A connector pair (issue 16), real processes: B joins with the sealed bundle made on A and serves the
 * tenant; the relay spreads agents over both; a revocation, a kill switch and a policy change made on
 * A refuse the next call B serves (the change feed carries them within 1 s); a PII token issued by A
 * resolves on B, and a forged one does not.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import type { MemberRecord } from '../../src/store/store.js';
import { runCli } from './cli-process.js';
import { pairRig } from './pair-rig.js';
import { refusalOf, textOf, within } from './pair-stack.js';
import { testPolicy } from './test-policy.js';

const AGENTS = ['agent-1', 'agent-2'];
const POLICY = testPolicy({ agents: AGENTS });
/** The changed policy: echo is blocked. */
const BLOCKING = testPolicy({ agents: AGENTS, tiers: { 'everything.echo': 'block' } });

const rig = pairRig(POLICY, { agents: AGENTS });
const { client } = rig;

const echo = (c: Client, message: string) => c.callTool({ name: 'everything.echo', arguments: { message } });

test('B joined from the bundle serves the tenant, and the relay spreads agents over both members', async () => {
  const onB = await client('B');
  assert.equal(textOf(await echo(onB, 'hello B')), 'Echo: hello B');

  const listed = JSON.parse(await runCli(['connector', 'list', '-c', rig.pair.config.B, '--json'])) as {
    connectors: Array<{ id: string; state: string; bound: boolean }>;
    members: MemberRecord[] & Array<{ stale: boolean }>;
  };
  assert.deepEqual(
    listed.connectors.map((c) => c.state),
    ['online', 'online'],
  );
  assert.ok(listed.connectors.every((c) => c.bound));
  // Every member as it reports itself in the shared store (heartbeats every 5 s): version, tunnels,
  // upstreams, readiness, one audit signer.
  type Listed = typeof listed;
  const members = await within(15_000, 'both members report tunnels up', async () => {
    const now = JSON.parse(await runCli(['connector', 'list', '-c', rig.pair.config.A, '--json'])) as Listed;
    return now.members.length === 2 && now.members.every((m) => m.tunnels.up >= 1 && m.ready)
      ? now.members
      : undefined;
  });
  assert.deepEqual(members.map((m) => m.id).sort(), listed.connectors.map((c) => c.id).sort());
  for (const m of members) {
    assert.match(m.version, /^\d+\.\d+\.\d+/);
    assert.equal(m.stale, false);
    assert.ok(m.tunnels.up >= 1 && m.tunnels.wanted === 2, JSON.stringify(m.tunnels));
    assert.deepEqual(m.upstreams, [{ name: 'everything', up: true }]);
  }
  assert.equal(members.filter((m) => m.auditSigner).length, 1, 'one member signs checkpoints');

  const calls = async (m: 'A' | 'B') => rig.pair.metric(m, 'airlock_connector_requests_total', 'tools/call');
  const before = { A: await calls('A'), B: await calls('B') };
  // Each agent connection is one TLS stream, routed to one live tunnel of the tenant.
  for (let i = 0; i < 16; i++) {
    const c = await client('relay');
    assert.equal(textOf(await echo(c, `spread ${i}`)), `Echo: spread ${i}`);
    if ((await calls('A')) > before.A && (await calls('B')) > before.B) break;
  }
  assert.ok((await calls('A')) > before.A, 'a call through the relay reached A');
  assert.ok((await calls('B')) > before.B, 'a call through the relay reached B');
});

test('a revocation made on A refuses the next call served by B', async () => {
  const onB = await client('B', 'agent-2');
  assert.equal(textOf(await echo(onB, 'before')), 'Echo: before');
  await runCli(['identity', 'revoke', 'agent-2', '-c', rig.pair.config.A]);
  // The open session on B is refused (and its connection closed by the change feed).
  const code = await within(1000, 'B refuses the revoked identity', async () => {
    const refused = await refusalOf(echo(onB, 'after'));
    return refused === undefined ? undefined : refused;
  });
  assert.match(code, /AIRLOCK_IDENTITY_REVOKED|fetch failed|closed|ECONNRESET|terminated|other side/i);
  const fresh = await refusalOf(client('B', 'agent-2').then((c) => echo(c, 'new connection')));
  assert.ok(fresh !== undefined, 'a new connection of the revoked identity is refused too');
  // The other identity is untouched.
  assert.equal(textOf(await echo(await client('B'), 'still fine')), 'Echo: still fine');
});

test('a kill switch flipped on A refuses the next call served by B', async () => {
  const onB = await client('B');
  const sum = () => onB.callTool({ name: 'everything.get-sum', arguments: { a: 2, b: 3 } });
  assert.equal(await refusalOf(sum()), undefined);
  await runCli([
    'tools',
    'disable',
    'everything.get-sum',
    '-c',
    rig.pair.config.A,
    '--reason',
    'incident 16',
  ]);
  const code = await within(1000, 'B refuses the disabled tool', () => refusalOf(sum()));
  assert.equal(code, 'AIRLOCK_TOOL_DISABLED');
  await runCli(['tools', 'enable', 'everything.get-sum', '-c', rig.pair.config.A]);
  await within(1000, 'B serves the tool again', async () => ((await refusalOf(sum())) ? undefined : true));
});

test('a policy change made on A refuses the next call served by B; B applies the stored version', async () => {
  const onB = await client('B');
  assert.equal(textOf(await echo(onB, 'allowed')), 'Echo: allowed');
  const versionsBefore = (await rig.pair.sql<{ n: string }>('SELECT COUNT(*) AS n FROM policy_versions'))[0]
    ?.n;
  await writeFile(rig.pair.policyFile.A, BLOCKING);
  // A records the new version (its file watcher); from then on B must follow within 1 s.
  await within(10_000, 'A records the new policy version', async () => {
    const rows = await rig.pair.sql<{ n: string }>('SELECT COUNT(*) AS n FROM policy_versions');
    return rows[0]?.n !== versionsBefore ? true : undefined;
  });
  const code = await within(1000, 'B applies the policy recorded by A', () => refusalOf(echo(onB, 'now?')));
  assert.equal(code, 'AIRLOCK_TOOL_BLOCKED');
  // B's own file still has the old text: it did not record it back over A's version.
  const latest = await rig.pair.sql<{ text: string }>(
    'SELECT text FROM policy_versions ORDER BY seq DESC LIMIT 1',
  );
  assert.equal(latest[0]?.text, BLOCKING);
  await writeFile(rig.pair.policyFile.A, POLICY);
  await within(10_000, 'B follows A back', async () =>
    (await refusalOf(echo(onB, 'again'))) ? undefined : true,
  );
});

test('a PII token issued by A is resolved by B; a forged token is refused', async () => {
  const onA = await client('A');
  const onB = await client('B');
  // A policy with the default PII actions (tokenize) is in force through A's file.
  const tokenizing = `${POLICY}`;
  assert.ok(!tokenizing.includes('pii:'), 'the default PII actions tokenize e-mail addresses');
  const issued = textOf(await echo(onA, 'mail anna.schmidt@example.com'));
  const token = /\[\[EMAIL:[0-9a-f]{8,}\]\]/.exec(issued)?.[0];
  assert.ok(token, `A tokenized the address: ${issued}`);
  // B de-tokenizes A's token for the upstream (an unknown token would be refused) and re-tokenizes
  // the answer with the same vault keys: the agent sees the same token.
  const resolved = await echo(onB, `reply to ${token}`);
  assert.equal(textOf(resolved), `Echo: reply to ${token}`);
  const forged = token.replace(/[0-9a-f]{4}\]\]$/, '0000]]');
  assert.match((await refusalOf(echo(onB, `reply to ${forged}`))) ?? '', /AIRLOCK_PII_UNKNOWN_TOKEN/);
});
