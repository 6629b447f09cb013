/**
 * Fail closed through the real relay: when the connector's audit store cannot write (here: SQLite
 * aborts every insert into the audit table, as a full disk would), agents' calls are refused with
 * JSON-RPC -32603 `AIRLOCK_AUDIT_UNAVAILABLE` and a message that says why; nothing unaudited is
 * answered. Once the store writes again, calls work and the trail verifies without a gap.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { connectToTenant } from '../../src/agent/index.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { everythingUpstream, type Stack, startStack } from './airlock-stack.js';
import { runCliResult, storedEntries } from './audit-cli.js';

let stack: Stack;

before(async () => {
  stack = await startStack({ upstreams: () => ({ everything: everythingUpstream() }) });
});

after(async () => {
  await stack?.close();
});

test('audit store cannot write: calls are refused with AIRLOCK_AUDIT_UNAVAILABLE, then recover', async () => {
  const acme = stack.tenant('acme');
  const client = await connectToTenant(acme.connection(), { name: 'fail-closed', version: '1' });
  const db = new Database(join(stack.dir, 'acme', 'airlock.db'));
  try {
    const echo = (message: string) => client.callTool({ name: 'everything.echo', arguments: { message } });
    await echo('before');

    db.exec(`CREATE TRIGGER audit_store_full BEFORE INSERT ON audit_entries
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    for (const message of ['refused-1', 'refused-2']) {
      await assert.rejects(echo(message), (err: unknown) => {
        const e = err as { code?: number; message?: string; data?: { airlock?: string } };
        assert.equal(e.code, -32603);
        assert.equal(e.data?.airlock, 'AIRLOCK_AUDIT_UNAVAILABLE');
        assert.match(e.message ?? '', /audit trail cannot be written/);
        assert.match(e.message ?? '', /fail closed/);
        return true;
      });
    }
    assert.equal(acme.connector.audit.available, false, 'the ledger knows its store is down');

    db.exec('DROP TRIGGER audit_store_full');
    const r = (await echo('after')) as { content: Array<{ text?: string }> };
    assert.equal(r.content[0]?.text, 'Echo: after');
  } finally {
    db.close();
    await client.close();
  }

  const entries = await storedEntries(acme.connector.store.audit);
  const hashes = new Set(
    entries.flatMap((e) => (e.kind === 'request' && e.arguments ? [e.arguments.sha256] : [])),
  );
  assert.ok(hashes.has(sha256Canonical({ message: 'before' })));
  assert.ok(hashes.has(sha256Canonical({ message: 'after' })));
  assert.ok(!hashes.has(sha256Canonical({ message: 'refused-1' })), 'a refused call left no entry');
  const verified = await runCliResult(['audit', 'verify', '--config', acme.configFile]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
});
