/**
 * Approval arguments at rest (issue 11): sealed with the tenant's vault key, so the raw values are not
 * in the SQLite file (nor its WAL); the queue opens them for supervisors; another tenant's key or no
 * key cannot; a sealed value moved to another row does not open.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSealedArguments, openApprovalArguments } from '../../src/approvals/approval-arguments-seal.js';
import { APPROVAL_ERROR_CODES, ApprovalError } from '../../src/approvals/approval-error.js';
import { consoleApprover } from '../../src/approvals/approval-principal.js';
import { ApprovalQueue, SEALED_ARGUMENTS_PLACEHOLDER } from '../../src/approvals/approval-queue.js';
import { loadTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { pendingApprovalId } from './approval-request.js';

const CANARIES = ['Anna-Canary-Lindqvist', 'DE89370400440532013000', 'anna.canary@example.com'];

let dir: string;
let store: Store;
let queue: ApprovalQueue;
let key: { tenant: string; key: Uint8Array };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-approval-seal-'));
  store = await openStore({ url: `sqlite:${join(dir, 'airlock.db')}` });
  const keys = await loadTenantPiiKeys({
    path: join(dir, 'pii', 'vault-key.json'),
    tenant: 'acme',
    create: true,
  });
  key = { tenant: 'acme', key: keys.vaultKey };
  queue = new ApprovalQueue({
    repository: store.approvals,
    holdMs: 0,
    sweepIntervalMs: 0,
    argumentsKey: key,
  });
});

after(async () => {
  await queue.close();
  await store.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const ask = (args: Record<string, unknown>) => pendingApprovalId(queue, args);

describe('approval arguments at rest', () => {
  it('are sealed in the store and opened for supervisors', async () => {
    const args = { customer: CANARIES[0], iban: CANARIES[1], email: CANARIES[2], amount: 5 };
    const id = await ask(args);
    const row = await store.approvals.getApproval(id);
    assert.ok(row && isSealedArguments(row.arguments), 'stored sealed');
    for (const c of CANARIES) assert.ok(!row.arguments.includes(c));
    assert.deepEqual(JSON.parse((await queue.get(id))?.arguments ?? ''), args);
    assert.deepEqual(JSON.parse((await queue.pending())[0]?.arguments ?? ''), args);
    const decided = await queue.approve(id, consoleApprover({ name: 'alice' }));
    assert.deepEqual(JSON.parse(decided.arguments), args);
  });

  it('do not open without the key, with another tenant key, or in another row', async () => {
    const id = await ask({ note: CANARIES[0] });
    const sealed = (await store.approvals.getApproval(id))?.arguments ?? '';
    const sealedError = (err: unknown) =>
      err instanceof ApprovalError && err.code === APPROVAL_ERROR_CODES.sealed;
    assert.throws(() => openApprovalArguments(undefined, id, sealed), sealedError);
    const other = await loadTenantPiiKeys({ path: join(dir, 'other.json'), tenant: 'globex', create: true });
    assert.throws(
      () => openApprovalArguments({ tenant: 'globex', key: other.vaultKey }, id, sealed),
      sealedError,
    );
    assert.throws(() => openApprovalArguments({ tenant: 'globex', key: key.key }, id, sealed), sealedError);
    assert.throws(() => openApprovalArguments(key, 'apr_000000000000000000000000', sealed), sealedError);
    const keyless = new ApprovalQueue({ repository: store.approvals, sweepIntervalMs: 0 });
    try {
      assert.equal((await keyless.get(id))?.arguments, SEALED_ARGUMENTS_PLACEHOLDER);
    } finally {
      await keyless.close();
    }
  });

  it('the raw argument strings are not anywhere in the SQLite files', async () => {
    await store.close();
    const files = (await readdir(dir)).filter((f) => f.startsWith('airlock.db'));
    assert.ok(files.includes('airlock.db'));
    let bytes = 0;
    for (const f of files) {
      const content = await readFile(join(dir, f));
      bytes += content.length;
      for (const c of CANARIES) {
        assert.equal(content.includes(Buffer.from(c)), false, `${c} found in ${f}`);
      }
    }
    assert.ok(bytes > 0);
    store = await openStore({ url: `sqlite:${join(dir, 'airlock.db')}` });
  });
});
