/**
 * Hot reload with real files in a temporary directory and a real store (SQLite and PostgreSQL):
 * valid edits are swapped in and recorded as versions, a broken edit keeps the old policy in force
 * and reports file and line, and a store that cannot record a version keeps the change out.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ConfigValidationError } from '../../src/config/load-yaml.js';
import { StoreError } from '../../src/errors/airlock-error.js';
import { pinnedConditionProblems } from '../../src/policy/condition-pin-check.js';
import type { PolicySubject } from '../../src/policy/policy-engine.js';
import { policyHash } from '../../src/policy/policy-loader.js';
import {
  POLICY_CHANGE_CHANNEL,
  POLICY_REJECTED_CHANNEL,
  type PolicyChange,
  type PolicyWatcher,
  watchPolicy,
} from '../../src/policy/policy-watcher.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const bot: PolicySubject = {
  authenticatedBy: 'mtls',
  name: 'claims-bot',
  spiffeId: 'spiffe://acme.airlock/agent/claims-bot',
};

const policyText = (tools: string, tier = 'auto') =>
  [
    'roles:',
    '  claims:',
    `    tools: [${tools}]`,
    'identities:',
    '  - name: claims-bot',
    '    roles: [claims]',
    'tools:',
    '  - match: "erp.*"',
    `    tier: ${tier}`,
    '',
  ].join('\n');

const BROKEN = [
  'roles:',
  '  claims:',
  '    tools: ["erp.*"]',
  'identities:',
  '  - name: claims-bot',
  '    roles: [claim]',
  '',
].join('\n');

/**
 * Waits for one event, failing after `ms` instead of hanging the suite. The watcher's own timers are
 * unref'd (a library must not keep a process alive), so this ref'd timer also keeps the test running.
 */
async function next<T>(watcher: PolicyWatcher, event: 'change' | 'error', ms = 5_000): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no '${event}' event within ${ms} ms`)), ms);
  try {
    const [value] = await once(watcher, event, { signal: controller.signal });
    return value as T;
  } finally {
    clearTimeout(timer);
  }
}

interface Backend {
  name: string;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

function backends(dir: () => string): Backend[] {
  const schema = `airlock_policy_${process.pid}_${randomBytes(4).toString('hex')}`;
  let n = 0;
  return [
    {
      name: 'sqlite',
      open: () => openStore({ url: `sqlite:${join(dir(), `store-${++n}.db`)}` }),
      cleanup: async () => {},
    },
    {
      name: 'postgres',
      open: () => openStore({ url: PG_URL, schema: `${schema}_${++n}` }),
      cleanup: async () => {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        try {
          for (let i = 1; i <= n; i++) await client.query(`DROP SCHEMA IF EXISTS "${schema}_${i}" CASCADE`);
        } finally {
          await client.end();
        }
      },
    },
  ];
}

let dir = '';
const toClose: { close(): Promise<void> }[] = [];
const all = backends(() => dir);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-policy-'));
});
after(async () => {
  for (const c of toClose.reverse()) await c.close();
  for (const b of all) await b.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function setup(
  backend: Backend | undefined,
  name: string,
  text: string,
  opts: { fsWatch?: boolean; pollIntervalMs?: number } = {},
) {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  const store = backend ? await backend.open() : undefined;
  if (store) toClose.push(store);
  const watcher = await watchPolicy({
    file,
    store: store?.policyVersions,
    debounceMs: 30,
    pollIntervalMs: opts.pollIntervalMs ?? 100,
    fsWatch: opts.fsWatch,
  });
  toClose.push(watcher);
  return { file, store, watcher };
}

describe('policy hot reload: edits', () => {
  for (const backend of all) {
    test(`${backend.name}: edits swap atomically and are recorded; a broken edit keeps the old policy`, async () => {
      const v1 = policyText('"erp.list_*"');
      const { file, store, watcher } = await setup(backend, `edits-${backend.name}`, v1);
      assert.ok(store);
      assert.equal(watcher.version?.seq, 1);
      assert.equal((await store.policyVersions.latestPolicyVersion())?.hash, policyHash(v1));
      assert.equal(watcher.engine.canCall(bot, 'erp.update_claim'), false);

      // A valid edit: new policy in force, recorded as version 2, change event with both versions.
      const v2 = policyText('"erp.*"', 'approve');
      const changed = next<PolicyChange>(watcher, 'change');
      await writeFile(file, v2);
      const change = await changed;
      assert.equal(change.previous?.hash, policyHash(v1));
      assert.equal(change.current.hash, policyHash(v2));
      assert.equal(change.version?.seq, 2);
      assert.equal(watcher.current, change.current);
      assert.equal(watcher.engine.canCall(bot, 'erp.update_claim'), true);
      assert.equal(watcher.engine.tierFor('erp.update_claim'), 'approve');
      const stored = await store.policyVersions.getPolicyVersion(2);
      assert.equal(stored?.text, v2);
      assert.equal(stored?.source, file);

      // A broken edit: error names file and line; the previous policy stays in force, nothing recorded.
      const failed = next<Error>(watcher, 'error');
      await writeFile(file, BROKEN);
      const error = await failed;
      assert.ok(error instanceof ConfigValidationError, String(error));
      assert.equal(error.file, file);
      assert.equal(error.line, 6);
      assert.match(
        error.message,
        /identities\[0\]\.roles\[0\]: unknown role "claim" \(did you mean "claims"\?\)/,
      );
      assert.equal(watcher.current.hash, policyHash(v2));
      assert.equal(watcher.engine.canCall(bot, 'erp.update_claim'), true);
      assert.equal((await store.policyVersions.latestPolicyVersion())?.seq, 2);

      // Fixed by an atomic save (write elsewhere, rename over the file), as editors do.
      const v3 = policyText('"erp.get_*"');
      const fixed = next<PolicyChange>(watcher, 'change');
      await writeFile(`${file}.tmp`, v3);
      await rename(`${file}.tmp`, file);
      assert.equal((await fixed).version?.seq, 3);
      assert.equal(watcher.engine.canCall(bot, 'erp.update_claim'), false);
      assert.equal(watcher.engine.canCall(bot, 'erp.get_claim'), true);
      assert.deepEqual(
        (await store.policyVersions.listPolicyVersions()).map((v) => v.hash),
        [policyHash(v3), policyHash(v2), policyHash(v1)],
      );

      // Restarting on the same file does not record a duplicate version.
      await watcher.close();
      const again = await watchPolicy({
        file,
        store: store.policyVersions,
        pollIntervalMs: 0,
        fsWatch: false,
      });
      toClose.push(again);
      assert.equal(again.version?.seq, 3);
      assert.equal((await store.policyVersions.listPolicyVersions()).length, 3);
    });
  }
});

describe('policy hot reload: polling and manual reload', () => {
  test('polling alone (no fs.watch) sees changes', async () => {
    const { file, watcher } = await setup(undefined, 'poll-only', policyText('"erp.list_*"'), {
      fsWatch: false,
      pollIntervalMs: 50,
    });
    const changed = next<PolicyChange>(watcher, 'change');
    await writeFile(file, policyText('"erp.*"'));
    assert.equal((await changed).version, undefined, 'no store configured');
    assert.equal(watcher.engine.canCall(bot, 'erp.update_claim'), true);
  });

  test('a deleted file, a manual reload and the diagnostics channels', async () => {
    const { file, watcher } = await setup(undefined, 'manual', policyText('"erp.*"'), {
      fsWatch: false,
      pollIntervalMs: 0,
    });
    const published: { channel: string; message: unknown }[] = [];
    const onChange = (message: unknown) => published.push({ channel: 'change', message });
    const onRejected = (message: unknown) => published.push({ channel: 'rejected', message });
    diagnosticsChannel.subscribe(POLICY_CHANGE_CHANNEL, onChange);
    diagnosticsChannel.subscribe(POLICY_REJECTED_CHANNEL, onRejected);
    try {
      assert.deepEqual(await watcher.reload(), { outcome: 'unchanged' });
      await rm(file);
      // No 'error' listener: the rejection is logged, not thrown, and the policy stays.
      const missing = await watcher.reload();
      assert.equal(missing.outcome, 'rejected');
      assert.match(missing.outcome === 'rejected' ? missing.error.message : '', /file not found/);
      assert.equal(watcher.engine.canCall(bot, 'erp.x'), true);

      await writeFile(file, BROKEN);
      assert.equal((await watcher.reload()).outcome, 'rejected');
      const again = await watcher.reload();
      assert.equal(again.outcome, 'rejected', 'the caller is told again...');
      assert.equal(published.length, 2, '...but the same broken text is published (and emitted) once');
      await writeFile(file, policyText('"erp.list_*"'));
      const result = await watcher.reload();
      assert.equal(result.outcome, 'changed');
      assert.equal(watcher.engine.canCall(bot, 'erp.x'), false);
      assert.deepEqual(
        published.map((p) => p.channel),
        ['rejected', 'rejected', 'change'],
      );
      assert.deepEqual(published[2]?.message, {
        file,
        hash: watcher.current.hash,
        previousHash: policyHash(policyText('"erp.*"')), // the broken text was never in force
        seq: undefined,
      });
    } finally {
      diagnosticsChannel.unsubscribe(POLICY_CHANGE_CHANNEL, onChange);
      diagnosticsChannel.unsubscribe(POLICY_REJECTED_CHANNEL, onRejected);
    }
  });
});

describe('policy hot reload: refused changes', () => {
  test('a valid change the store cannot record is not applied (fail closed)', async () => {
    const sqlite = all[0] as Backend;
    const { file, store, watcher } = await setup(sqlite, 'store-down', policyText('"erp.list_*"'), {
      fsWatch: false,
      pollIntervalMs: 0,
    });
    assert.ok(store);
    await store.close();
    await writeFile(file, policyText('"erp.*"'));
    const failed = next<Error>(watcher, 'error');
    const result = await watcher.reload();
    const error = await failed;
    assert.equal(result.outcome, 'rejected');
    assert.ok(error instanceof StoreError);
    assert.equal(error.code, 'AIRLOCK_STORE_CLOSED');
    assert.equal(watcher.engine.canCall(bot, 'erp.update_claim'), false, 'the old policy stays in force');
  });

  test('a change whose conditions do not fit the pinned schemas is refused by `check`', async () => {
    const file = join(dir, 'pinned-check.yaml');
    await writeFile(file, policyText('"erp.*"'));
    const pinned = [{ name: 'erp.refund', inputSchema: { type: 'object', properties: { amount: {} } } }];
    const watcher = await watchPolicy({
      file,
      fsWatch: false,
      pollIntervalMs: 0,
      check: (loaded) => pinnedConditionProblems(loaded.engine, pinned),
    });
    toClose.push(watcher);
    const withCondition = (property: string) =>
      `${policyText('"erp.*"')}  - match: erp.refund\n    when: { arguments: { properties: { ${property}: { maximum: 5 } } } }\n    tier: block\n`;
    await writeFile(file, withCondition('amout'));
    const rejected = await watcher.reload();
    assert.equal(rejected.outcome, 'rejected');
    assert.match(
      rejected.outcome === 'rejected' ? rejected.error.message : '',
      /erp\.refund: rule tools\[1\]: arguments\.amout is not a property .*did you mean "amount"/,
    );
    assert.equal(watcher.current.policy.tools.length, 1, 'the old policy stays in force');
    await writeFile(file, withCondition('amount'));
    assert.equal((await watcher.reload()).outcome, 'changed');
    assert.equal(watcher.current.policy.tools[1]?.match, 'erp.refund', 'the fixed change is in force');
  });

  test('an invalid policy at start-up is refused', async () => {
    const file = join(dir, 'broken-start.yaml');
    await writeFile(file, BROKEN);
    await assert.rejects(watchPolicy({ file, pollIntervalMs: 0 }), (e: unknown) => {
      assert.ok(e instanceof ConfigValidationError);
      assert.equal(e.line, 6);
      return true;
    });
    await assert.rejects(watchPolicy({ file: join(dir, 'absent.yaml') }), /file not found/);
  });
});
