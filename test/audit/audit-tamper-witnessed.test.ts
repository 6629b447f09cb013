/**
 * Every tamper of issue 12, on SQLite and PostgreSQL, against a trail whose checkpoints a tlog-witness
 * cosigned: edit, cut tail, delete middle, consistent rewrite with and without the on-disk key, wipe,
 * and a forged tail after a crash (a real child process killed with SIGKILL). Each one is detected
 * by `verifyAuditTrail` with the witness's view, and by the start-up check (`AuditLedger.open` with
 * the witness view throws AIRLOCK_AUDIT_TAMPERED, naming the command to run).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AUDIT_ERROR_CODES, AuditError } from '../../src/audit/audit-error.js';
import { type AuditSigningKey, generateAuditKey, loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { auditOrigin } from '../../src/audit/audit-signing.js';
import { type AuditProblemKind, verifyAuditTrail } from '../../src/audit/audit-verify.js';
import { storedAuditCheckpoints, storedAuditEntries } from '../../src/audit/stored-trail.js';
import { fetchWitnessView } from '../../src/audit/witness-client.js';
import type { SqlDialect } from '../../src/store/dialect.js';
import type { Store } from '../../src/store/store.js';
import { postgresBackend, requestEvent, sqliteBackend, type TestBackend } from './audit-fixture.js';
import { allowRefusal, consistentRewrite } from './tamper-tools.js';
import { startTestWitness, type TestWitness } from './witness-fixture.js';
import { openWitnessedLedger } from './witnessed-ledger.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'crash-child.js');

for (const makeBackend of [sqliteBackend, postgresBackend]) {
  const backendName = makeBackend === sqliteBackend ? 'sqlite' : 'postgres';
  describe(`tampering with a witnessed trail (${backendName})`, () => {
    let backend: TestBackend;
    let w: TestWitness;
    let dir: string;
    let n = 0;
    const key = generateAuditKey();
    const cleanups: (() => Promise<unknown>)[] = [];

    before(async () => {
      backend = await makeBackend();
      w = await startTestWitness();
      dir = await mkdtemp(join(tmpdir(), 'airlock-tamper-'));
    });
    after(async () => {
      for (const c of cleanups.reverse()) await c();
      await w.close();
      await backend.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    /** 30 entries (every 7th refused), all cosigned by the witness, in a fresh store. */
    async function witnessedTrail(): Promise<{ tenant: string; store: Store; raw: SqlDialect }> {
      n += 1;
      const tenant = `${backendName}-${n}`;
      const { store, raw, ledger } = await openWitnessedLedger(
        { backend, witness: w, cleanups },
        { tenant, key, checkpointEvery: 10 },
      );
      for (let i = 1; i <= 30; i++)
        await ledger.append(
          requestEvent(i, i % 7 === 0 ? { decision: 'deny', code: 'AIRLOCK_TOOL_FORBIDDEN' } : {}),
        );
      assert.equal(await ledger.drainWitnesses(5_000), true);
      await ledger.close();
      return { tenant, store, raw };
    }

    /** Asserts both checks catch it: verify (with the witness) and the start-up check. */
    async function assertCaught(
      store: Store,
      tenant: string,
      kind: AuditProblemKind,
      verifyKey: AuditSigningKey = key,
    ) {
      const view = await fetchWitnessView({ name: 'w1', url: w.url, origin: auditOrigin(tenant) });
      assert.equal(view.error, undefined);
      const report = await verifyAuditTrail({
        entries: storedAuditEntries(store.audit),
        checkpoints: await storedAuditCheckpoints(store.audit),
        publicKey: verifyKey.publicKey,
        tenant,
        witnesses: [view],
      });
      assert.equal(report.ok, false, 'verify detects it');
      assert.equal(report.firstProblem?.kind, kind, JSON.stringify(report.firstProblem));
      await assert.rejects(
        AuditLedger.open({
          repository: store.audit,
          tenant,
          key: verifyKey,
          checkpointIntervalMs: 0,
          witnessViews: [view],
        }),
        (e: unknown) =>
          e instanceof AuditError &&
          e.code === AUDIT_ERROR_CODES.tampered &&
          e.message.includes('airlock audit verify --config'),
        'the start-up check refuses to extend it',
      );
    }

    test('edit: a refused call turned into an allowed one', async () => {
      const { tenant, store, raw } = await witnessedTrail();
      const [row] = await raw.query<{ entry: string }>('SELECT entry FROM audit_entries WHERE seq = 14');
      await raw.run('UPDATE audit_entries SET entry = ? WHERE seq = 14', [
        String(row?.entry).replace('"deny"', '"allow"'),
      ]);
      await assertCaught(store, tenant, 'modified');
    });

    test('cut tail, local checkpoints included', async () => {
      const { tenant, store, raw } = await witnessedTrail();
      await raw.run('DELETE FROM audit_entries WHERE seq > 24');
      await raw.run('DELETE FROM audit_checkpoints WHERE tree_size > 24');
      await assertCaught(store, tenant, 'truncated');
    });

    test('delete in the middle', async () => {
      const { tenant, store, raw } = await witnessedTrail();
      await raw.run('DELETE FROM audit_entries WHERE seq IN (12, 13)');
      await assertCaught(store, tenant, 'missing');
    });

    test('consistent rewrite with the on-disk key', async () => {
      const { tenant, store, raw } = await witnessedTrail();
      await consistentRewrite(raw, tenant, key, allowRefusal(1));
      await assertCaught(store, tenant, 'modified');
    });

    test('consistent rewrite with a key of the attacker (the on-disk key replaced)', async () => {
      const { tenant, store, raw } = await witnessedTrail();
      const attacker = generateAuditKey();
      await consistentRewrite(raw, tenant, attacker, allowRefusal(1));
      await assertCaught(store, tenant, 'bad-signature', attacker);
    });

    test('wipe: every entry and checkpoint gone (an empty trail is not OK)', async () => {
      const { tenant, store, raw } = await witnessedTrail();
      await raw.run('DELETE FROM audit_entries');
      await raw.run('DELETE FROM audit_checkpoints');
      await assertCaught(store, tenant, 'truncated');
      const wipedWithKey = generateAuditKey();
      await assertCaught(store, tenant, 'bad-signature', wipedWithKey);
    });

    test('forged tail after a crash: kill -9 during writes, then the tail rewritten with the key', async () => {
      const db = await backend.fresh();
      const dataDir = join(dir, `crash-${backendName}`);
      const tenant = `crash-${backendName}`;
      const crashKey = await loadOrCreateAuditKey(dataDir);
      w.trust(auditOrigin(`${tenant}`), crashKey.publicKey);
      const child = spawn(process.execPath, [CHILD, dataDir, db.url, ...(db.schema ? [db.schema] : [])], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, AUDIT_WITNESS_URL: w.url, AUDIT_TENANT: tenant },
      });
      const exited = once(child, 'exit');
      let acked = 0;
      const origin = auditOrigin(tenant);
      for await (const _line of createInterface({ input: child.stdout })) {
        acked += 1;
        if (acked % 50 !== 0) continue;
        const v = await fetchWitnessView({ name: 'w1', url: w.url, origin });
        if ((v.checkpoint?.treeSize ?? 0) >= 200) {
          child.kill('SIGKILL');
          break;
        }
      }
      await exited;
      const store = await db.open();
      const raw = await db.raw();
      cleanups.push(
        () => store.close(),
        () => raw.close(),
      );
      const witnessed =
        (await fetchWitnessView({ name: 'w1', url: w.url, origin })).checkpoint?.treeSize ?? 0;
      assert.ok(witnessed >= 200);
      // The attacker rewrites history from an entry the witness already cosigned.
      await consistentRewrite(raw, tenant, crashKey, (e) => {
        if (Number(e.seq) !== witnessed - 5) return false;
        e.decision = 'deny';
        return true;
      });
      await assertCaught(store, tenant, 'modified', crashKey);
    });
  });
}
