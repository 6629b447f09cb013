/**
 * Tampering with a stored trail, on SQLite and PostgreSQL: each edit an attacker with database access
 * can make is named by `verifyAuditTrail`, and an untouched trail verifies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { entryHash } from '../../src/audit/audit-entry.js';
import { type AuditSigningKey, generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import type { SqlDialect } from '../../src/store/dialect.js';
import type { Store } from '../../src/store/store.js';
import {
  adminEvent,
  postgresBackend,
  requestEvent,
  sqliteBackend,
  TENANT,
  type TestBackend,
  verifyStored,
} from './audit-fixture.js';

const TOTAL = 40;
const EVERY = 10;

/** What a describe's tests share: its backend, the signing key, and a fresh trail per test. */
interface TamperSuite {
  backend: TestBackend;
  key: AuditSigningKey;
  /** A store holding a 40-entry trail with checkpoints at 10, 20, 30, 40, and a raw handle on it. */
  trail(): Promise<{ store: Store; raw: SqlDialect }>;
}

/** Registers the backend's `before`/`after` in the enclosing describe. */
function useTamperSuite(makeBackend: () => Promise<TestBackend>): TamperSuite {
  const cleanups: (() => Promise<void>)[] = [];
  const suite = { key: generateAuditKey() } as TamperSuite;
  suite.trail = async () => {
    const db = await suite.backend.fresh();
    const store = await db.open();
    const raw = await db.raw();
    cleanups.push(
      () => store.close(),
      () => raw.close(),
    );
    const ledger = await AuditLedger.open({
      repository: store.audit,
      tenant: TENANT,
      key: suite.key,
      checkpointEvery: EVERY,
      checkpointIntervalMs: 0,
    });
    for (let i = 1; i <= TOTAL; i++) {
      await ledger.append(i % 3 === 0 ? adminEvent(i) : requestEvent(i));
    }
    await ledger.close();
    return { store, raw };
  };
  before(async () => {
    suite.backend = await makeBackend();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await suite.backend.cleanup();
  });
  return suite;
}

async function entryText(raw: SqlDialect, seq: number): Promise<string> {
  const [row] = await raw.query<{ entry: string }>('SELECT entry FROM audit_entries WHERE seq = ?', [seq]);
  assert.ok(row, `entry ${seq} exists`);
  return row.entry;
}

for (const makeBackend of [sqliteBackend, postgresBackend]) {
  const name = makeBackend === sqliteBackend ? 'sqlite' : 'postgres';
  describe(`tampering with a stored audit trail (${name})`, () => {
    const s = useTamperSuite(makeBackend);

    test('an untouched trail verifies', async () => {
      const { store } = await s.trail();
      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
      assert.equal(report.entries, TOTAL);
      assert.equal(report.checkpoints, TOTAL / EVERY);
      assert.equal(report.firstSeq, 1);
      assert.equal(report.lastSeq, TOTAL);
      assert.equal(report.signedThrough, TOTAL);
    });

    test('editing one byte of an entry is reported as modified', async () => {
      const { store, raw } = await s.trail();
      const text = await entryText(raw, 17);
      const edited = text
        .replace('"decision":"allow"', '"decision":"allaw"')
        .replace('"actor":"console:alice"', '"actor":"console:alicf"');
      assert.notEqual(edited, text);
      assert.equal(edited.length, text.length);
      await raw.run('UPDATE audit_entries SET entry = ? WHERE seq = ?', [edited, 17]);
      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.ok, false);
      assert.equal(report.firstProblem?.seq, 17);
      assert.equal(report.firstProblem?.kind, 'modified');
    });

    test('a corrupted row that is no longer JSON is reported as modified', async () => {
      const { store, raw } = await s.trail();
      const text = await entryText(raw, 5);
      await raw.run('UPDATE audit_entries SET entry = ? WHERE seq = ?', [text.slice(0, -1), 5]);
      const report = await verifyStored(store.audit, s.key);
      assert.deepEqual([report.firstProblem?.seq, report.firstProblem?.kind], [5, 'modified']);
    });

    test('deleting an entry is reported as missing', async () => {
      const { store, raw } = await s.trail();
      await raw.run('DELETE FROM audit_entries WHERE seq = ?', [17]);
      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.firstProblem?.seq, 17);
      assert.equal(report.firstProblem?.kind, 'missing');
      assert.match(report.firstProblem?.detail ?? '', /entry 17 is missing/);
    });
  });

  describe(`tampering with a stored audit trail (${name}): insertion and order`, () => {
    const s = useTamperSuite(makeBackend);

    test('inserting a forged entry is reported as inserted', async () => {
      const { store, raw } = await s.trail();
      // The forger makes room after entry 17 and writes a well-formed entry chained to it.
      const seventeen = JSON.parse(await entryText(raw, 17)) as { hash: string; time: number };
      await raw.run('UPDATE audit_entries SET seq = -seq WHERE seq > ?', [17]);
      await raw.run('UPDATE audit_entries SET seq = 1 - seq WHERE seq < 0');
      const forged: Record<string, unknown> = {
        ...requestEvent(999, { tool: 'erp.delete_all' }),
        v: 1,
        seq: 18,
        prevHash: seventeen.hash,
        time: seventeen.time,
        tenant: TENANT,
      };
      forged.hash = entryHash(forged);
      await raw.run('INSERT INTO audit_entries (seq, time, hash, entry) VALUES (?, ?, ?, ?)', [
        18,
        seventeen.time,
        forged.hash as string,
        JSON.stringify(forged),
      ]);
      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.firstProblem?.seq, 18);
      assert.equal(report.firstProblem?.kind, 'inserted');
    });

    test('swapping two entries is reported as reordered', async () => {
      const { store, raw } = await s.trail();
      const a = await entryText(raw, 17);
      const b = await entryText(raw, 18);
      await raw.transaction(async (tx) => {
        await tx.run('UPDATE audit_entries SET entry = ? WHERE seq = ?', [b, 17]);
        await tx.run('UPDATE audit_entries SET entry = ? WHERE seq = ?', [a, 18]);
      });
      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.firstProblem?.seq, 17);
      assert.equal(report.firstProblem?.kind, 'reordered');
    });
  });

  describe(`tampering with a stored audit trail (${name}): tail and signatures`, () => {
    const s = useTamperSuite(makeBackend);

    test('dropping the tail after a checkpoint is reported as truncated', async () => {
      const { store, raw } = await s.trail();
      await raw.run('DELETE FROM audit_entries WHERE seq > ?', [25]);
      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.firstProblem?.seq, 26);
      assert.equal(report.firstProblem?.kind, 'truncated');
      assert.match(report.firstProblem?.detail ?? '', /covers 40 entries/);
    });

    test('a checkpoint whose signature does not match is reported as bad-signature', async () => {
      const { store, raw } = await s.trail();
      const [row] = await raw.query<{ checkpoint: string }>(
        'SELECT checkpoint FROM audit_checkpoints WHERE tree_size = ?',
        [20],
      );
      const cp = JSON.parse(row?.checkpoint ?? '{}') as { note: string };
      cp.note = cp.note.replace(/\n\n/, '\nextension\n\n'); // a line added to the signed note
      await raw.run('UPDATE audit_checkpoints SET checkpoint = ? WHERE tree_size = ?', [
        JSON.stringify(cp),
        20,
      ]);
      const report = await verifyStored(store.audit, s.key);
      assert.equal(report.firstProblem?.seq, 20);
      assert.equal(report.firstProblem?.kind, 'bad-signature');
    });

    test('a trail signed by another key does not verify', async () => {
      const { store } = await s.trail();
      const report = await verifyStored(store.audit, generateAuditKey());
      assert.equal(report.ok, false);
      assert.equal(report.firstProblem?.kind, 'bad-signature');
    });
  });
}
