/**
 * A connector pair (issue 16) when members die, real processes: an approval requested through A and
 * approved on B completes the agent's call held on A; a pending approval survives kill -9 of A and its
 * retry runs on B. (kill -9 of either member during 1,000 calls, with `audit verify --witness`
 * afterwards: pair-audit-kill.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { runCli } from './cli-process.js';
import { pairRig } from './pair-rig.js';
import { refusalOf, textOf, within } from './pair-stack.js';
import { testPolicy } from './test-policy.js';

const POLICY = testPolicy({
  tiers: { 'everything.get-sum': 'approve' },
  limits: { concurrencyPerTool: 32 },
});

const rig = pairRig(POLICY, { extra: { approvals: { holdMs: 60_000 } } });
const { client } = rig;

const sum = (c: Client, a: number, b: number) =>
  c.callTool({ name: 'everything.get-sum', arguments: { a, b } }, { timeout: 120_000 });

/** The one pending request (arguments are masked in the list; each test holds one call at a time). */
async function pendingId(): Promise<string> {
  return within(10_000, 'the held call is pending in the shared store', async () => {
    const out = JSON.parse(await runCli(['approvals', 'list', '-c', rig.pair.config.B, '--json'])) as Array<{
      id: string;
      status: string;
    }>;
    return out.find((r) => r.status === 'pending')?.id;
  });
}

test('an approval requested through A and approved on B completes the call held on A', async () => {
  const onA = await client('A');
  const held = sum(onA, 20, 22);
  let settled = false;
  void held.finally(() => {
    settled = true;
  });
  const id = await pendingId();
  assert.equal(settled, false, 'the call waits for a human');
  await runCli(['approvals', 'approve', id, '-c', rig.pair.config.B, '--reason', 'checked on B']);
  // B announced the decision on the change feed: A's held call re-reads it and runs.
  await within(1000, 'the held call completes', async () => (settled ? true : undefined));
  assert.match(textOf(await held), /42/);
});

test('a pending approval survives kill -9 of A; approved on B, the retry runs on B', async () => {
  const onA = await client('A');
  const held = sum(onA, 7, 8).then(
    () => 'answered',
    () => 'failed',
  );
  const id = await pendingId();
  await rig.pair.member.A.kill('SIGKILL');
  assert.equal(await held, 'failed', 'the call held on the dead member fails');
  const rows = await rig.pair.sql<{ status: string }>('SELECT status FROM approvals WHERE id = $1', [id]);
  assert.equal(rows[0]?.status, 'pending', 'the request outlives its member');
  await runCli(['approvals', 'approve', id, '-c', rig.pair.config.B]);
  const onB = await client('B');
  assert.match(textOf(await sum(onB, 7, 8)), /15/, 'the same call, retried on B, uses the approval');
  // Exactly once: the approval is consumed; a second identical call asks anew (and is held).
  const again = await refusalOf(
    onB.callTool({ name: 'everything.get-sum', arguments: { a: 7, b: 8 } }, { timeout: 1500 }),
  );
  assert.ok(again !== undefined, 'a consumed approval does not run a second call');
  await rig.pair.start('A');
});
