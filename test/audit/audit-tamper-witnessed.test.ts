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

/** What a describe's tests share: backend, witness, folder, key, and the trails and checks below. */
interface WitnessedSuite {
  backendName: string;
  backend: TestBackend;
  w: TestWitness;
  dir: string;
  key: AuditSigningKey;
  cleanups: (() => Promise<unknown>)[];
  /** Tenants made so far (each trail gets its own). */
  n: number;
}

/** Registers the suite's `before`/`after` in the enclosing describe. */
function useWitnessedSuite(makeBackend: () => Promise<TestBackend>, backendName: string): WitnessedSuite {
  const suite = { backendName, key: generateAuditKey(), cleanups: [], n: 0 } as unknown as WitnessedSuite;
  before(async () => {
    suite.backend = await makeBackend();
    suite.w = await startTestWitness();
    suite.dir = await mkdtemp(join(tmpdir(), 'airlock-tamper-'));
  });
  after(async () => {
    for (const c of suite.cleanups.reverse()) await c();
    await suite.w.close();
    await suite.backend.cleanup();
    await rm(suite.dir, { recursive: true, force: true });
  });
  return suite;
}

/** 30 entries (every 7th refused), all cosigned by the witness, in a fresh store. */
async function witnessedTrail(s: WitnessedSuite): Promise<{ tenant: string; store: Store; raw: SqlDialect }> {
  s.n += 1;
  const tenant = `${s.backendName}-${s.n}`;
  const { store, raw, ledger } = await openWitnessedLedger(
    { backend: s.backend, witness: s.w, cleanups: s.cleanups },
    { tenant, key: s.key, checkpointEvery: 10 },
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
  s: WitnessedSuite,
  store: Store,
  tenant: string,
  kind: AuditProblemKind,
  verifyKey: AuditSigningKey = s.key,
) {
  const view = await fetchWitnessView({ name: 'w1', url: s.w.url, origin: auditOrigin(tenant) });
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

/**
 * Runs the crash child on `db` for `tenant` until the witness cosigned 200 entries, then kills it with
 * SIGKILL; resolves once it exited.
 */
async function crashAfterWitnessed(
  s: WitnessedSuite,
  db: { url: string; schema?: string },
  dataDir: string,
  tenant: string,
): Promise<void> {
  const child = spawn(process.execPath, [CHILD, dataDir, db.url, ...(db.schema ? [db.schema] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AUDIT_WITNESS_URL: s.w.url, AUDIT_TENANT: tenant },
  });
  const exited = once(child, 'exit');
  let acked = 0;
  const origin = auditOrigin(tenant);
  for await (const _line of createInterface({ input: child.stdout })) {
    acked += 1;
    if (acked % 50 !== 0) continue;
    const v = await fetchWitnessView({ name: 'w1', url: s.w.url, origin });
    if ((v.checkpoint?.treeSize ?? 0) >= 200) {
      child.kill('SIGKILL');
      break;
    }
  }
  await exited;
}

for (const makeBackend of [sqliteBackend, postgresBackend]) {
  const backendName = makeBackend === sqliteBackend ? 'sqlite' : 'postgres';
  describe(`tampering with a witnessed trail (${backendName})`, () => {
    const s = useWitnessedSuite(makeBackend, backendName);

    test('edit: a refused call turned into an allowed one', async () => {
      const { tenant, store, raw } = await witnessedTrail(s);
      const [row] = await raw.query<{ entry: string }>('SELECT entry FROM audit_entries WHERE seq = 14');
      await raw.run('UPDATE audit_entries SET entry = ? WHERE seq = 14', [
        String(row?.entry).replace('"deny"', '"allow"'),
      ]);
      await assertCaught(s, store, tenant, 'modified');
    });

    test('cut tail, local checkpoints included', async () => {
      const { tenant, store, raw } = await witnessedTrail(s);
      await raw.run('DELETE FROM audit_entries WHERE seq > 24');
      await raw.run('DELETE FROM audit_checkpoints WHERE tree_size > 24');
      await assertCaught(s, store, tenant, 'truncated');
    });

    test('delete in the middle', async () => {
      const { tenant, store, raw } = await witnessedTrail(s);
      await raw.run('DELETE FROM audit_entries WHERE seq IN (12, 13)');
      await assertCaught(s, store, tenant, 'missing');
    });
  });

  describe(`tampering with a witnessed trail (${backendName}): rewrites and wipes`, () => {
    const s = useWitnessedSuite(makeBackend, backendName);

    test('consistent rewrite with the on-disk key', async () => {
      const { tenant, store, raw } = await witnessedTrail(s);
      await consistentRewrite(raw, tenant, s.key, allowRefusal(1));
      await assertCaught(s, store, tenant, 'modified');
    });

    test('consistent rewrite with a key of the attacker (the on-disk key replaced)', async () => {
      const { tenant, store, raw } = await witnessedTrail(s);
      const attacker = generateAuditKey();
      await consistentRewrite(raw, tenant, attacker, allowRefusal(1));
      await assertCaught(s, store, tenant, 'bad-signature', attacker);
    });

    test('wipe: every entry and checkpoint gone (an empty trail is not OK)', async () => {
      const { tenant, store, raw } = await witnessedTrail(s);
      await raw.run('DELETE FROM audit_entries');
      await raw.run('DELETE FROM audit_checkpoints');
      await assertCaught(s, store, tenant, 'truncated');
      const wipedWithKey = generateAuditKey();
      await assertCaught(s, store, tenant, 'bad-signature', wipedWithKey);
    });
  });

  describe(`tampering with a witnessed trail (${backendName}): a forged tail after a crash`, () => {
    const s = useWitnessedSuite(makeBackend, backendName);

    test('forged tail after a crash: kill -9 during writes, then the tail rewritten with the key', async () => {
      const db = await s.backend.fresh();
      const dataDir = join(s.dir, `crash-${backendName}`);
      const tenant = `crash-${backendName}`;
      const crashKey = await loadOrCreateAuditKey(dataDir);
      s.w.trust(auditOrigin(`${tenant}`), crashKey.publicKey);
      await crashAfterWitnessed(s, db, dataDir, tenant);
      const store = await db.open();
      const raw = await db.raw();
      s.cleanups.push(
        () => store.close(),
        () => raw.close(),
      );
      const witnessed =
        (await fetchWitnessView({ name: 'w1', url: s.w.url, origin: auditOrigin(tenant) })).checkpoint
          ?.treeSize ?? 0;
      assert.ok(witnessed >= 200);
      // The attacker rewrites history from an entry the witness already cosigned.
      await consistentRewrite(raw, tenant, crashKey, (e) => {
        if (Number(e.seq) !== witnessed - 5) return false;
        e.decision = 'deny';
        return true;
      });
      await assertCaught(s, store, tenant, 'modified', crashKey);
    });
  });
}
