/**
 * The pair's change wiring in one process, two "members" on one store: a policy version recorded by
 * one is applied by the other through the change feed (never recorded back); an invalid or older
 * stored version is refused; approvals, identities and catalog changes reach their handlers.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { followPairChanges } from '../../src/connector/pair/pair-changes.js';
import { type PolicyWatcher, watchPolicy } from '../../src/policy/policy-watcher.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { untilEvent } from '../fixtures/wait-until.js';

const POLICY = 'version: 1\nroles:\n  r:\n    tools: ["a.*"]\n';
const CHANGED = 'version: 1\nroles:\n  r:\n    tools: ["b.*"]\n';

let dir: string;
let store: Store;
const stops: Array<() => void> = [];
const watchers: PolicyWatcher[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-pair-changes-'));
  store = await openStore({ url: 'sqlite::memory:' });
});
after(async () => {
  for (const stop of stops) stop();
  for (const w of watchers) await w.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function member(name: string) {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, POLICY);
  const watcher = await watchPolicy({ file, store: store.policyVersions, debounceMs: 10, settleMs: 0 });
  watchers.push(watcher);
  const calls = { revocations: 0, refreshes: 0, woken: [] as Array<string | undefined> };
  /** Emits `call` after each handler ran: tests wait for it instead of polling. */
  const ran = new EventEmitter();
  const record = (count: () => void) => {
    count();
    ran.emit('call');
  };
  const approvals = new EventEmitter() as never as Parameters<typeof followPairChanges>[0]['approvals'];
  Object.assign(approvals, { wakeHeld: (id?: string) => record(() => calls.woken.push(id)) });
  stops.push(
    followPairChanges({
      store,
      watcher,
      pinning: { refresh: async () => record(() => calls.refreshes++) },
      approvals,
      endpoint: { checkRevocations: async () => record(() => calls.revocations++) },
      logger: pino({ level: 'silent' }),
    }),
  );
  return { file, watcher, calls, ran, approvals };
}

test('a version recorded by one member is applied by the other and not recorded back', async () => {
  const a = await member('a');
  const b = await member('b');
  const before = (await store.policyVersions.listPolicyVersions()).length;
  const result = await a.watcher.reload(); // unchanged file: nothing
  assert.equal(result.outcome, 'unchanged');
  await writeFile(a.file, CHANGED);
  assert.equal((await a.watcher.reload()).outcome, 'changed');
  await untilEvent('B applies A’s version', b.watcher, 'change', () => b.watcher.current.text === CHANGED);
  assert.equal(b.watcher.version?.text, CHANGED);
  assert.equal((await store.policyVersions.listPolicyVersions()).length, before + 1, 'recorded once');
  // An older stored version is not applied over a newer one.
  const older = (await store.policyVersions.listPolicyVersions()).at(-1);
  assert.ok(older);
  assert.equal((await b.watcher.adopt(older)).outcome, 'unchanged');
  assert.equal(b.watcher.current.text, CHANGED);
});

test('an invalid stored version is refused; the policy in force stays', async () => {
  const b = watchers[1];
  assert.ok(b);
  const bad = await store.policyVersions.recordPolicyVersion({
    hash: 'x'.repeat(64),
    text: 'version: 1\nroles:\n  r:\n    tools: 7\n',
    source: 'attacker',
    loadedAt: Date.now(),
  });
  const errors: Error[] = [];
  b.on('error', (e: Error) => errors.push(e));
  const result = await b.adopt(bad);
  assert.equal(result.outcome, 'rejected');
  assert.equal(b.current.text, CHANGED);
  assert.equal(errors.length, 1);
});

test('approvals, identities and catalog announcements reach every member’s handlers', async () => {
  const c = await member('c');
  await store.changes.publish('approvals', { id: 'apr_1' });
  await store.changes.publish('identities', { name: 'agent-2' });
  await store.changes.publish('catalog');
  await untilEvent(
    'handlers ran',
    c.ran,
    'call',
    () => c.calls.woken.includes('apr_1') && c.calls.revocations > 0 && c.calls.refreshes > 0,
  );
  // A decision made through this member's queue is announced for the others.
  const seen: string[] = [];
  const announced = new EventEmitter();
  const unsubscribe = store.changes.subscribe('approvals', (change) => {
    seen.push(String(change.detail?.id));
    announced.emit('seen');
  });
  try {
    const decided = untilEvent('decision announced', announced, 'seen', () => seen.includes('apr_2'));
    (c.approvals as never as { emit(e: string, v: unknown): void }).emit('change', {
      type: 'approved',
      approval: { id: 'apr_2' },
    });
    await decided;
  } finally {
    unsubscribe();
  }
});
