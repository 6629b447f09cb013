/**
 * Durability: a process appending entries is killed with SIGKILL mid-stream. Every append that had
 * resolved (the child printed its acknowledgement) is in the store with the same hash, and the whole
 * trail verifies — on SQLite (WAL, synchronous=FULL) and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { verifyStored } from './audit-fixture.js';
import { describeOnEachBackend } from './backend-suite.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'crash-child.js');
const ACKS_BEFORE_KILL = 400;

describeOnEachBackend(
  (name) => `audit durability across kill -9 (${name})`,
  'airlock-audit-crash-',
  (suite) => {
    test('every acknowledged entry survives and the chain verifies', async () => {
      const dataDir = suite.dir;
      const db = await suite.backend.fresh();
      const child = spawn(process.execPath, [CHILD, dataDir, db.url, ...(db.schema ? [db.schema] : [])], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      const acked = new Map<number, string>();
      const lines = createInterface({ input: child.stdout });
      let killed = false;
      for await (const line of lines) {
        const msg = JSON.parse(line) as { seq?: number; hash?: string };
        if (msg.seq !== undefined && msg.hash !== undefined) acked.set(msg.seq, msg.hash);
        if (!killed && acked.size >= ACKS_BEFORE_KILL) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
      const [code, signal] = await exited;
      assert.equal(signal, 'SIGKILL', `child exited by itself (code ${String(code)})`);

      const store = await db.open();
      try {
        const key = await loadOrCreateAuditKey(dataDir);
        for (const [seq, hash] of acked) {
          const row = await store.audit.getAuditEntry(seq);
          assert.equal(row?.hash, hash, `acknowledged entry ${seq} is in the store unchanged`);
        }
        const report = await verifyStored(store.audit, key);
        assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
        assert.ok(report.entries >= acked.size);
        assert.ok(report.checkpoints >= 1);
      } finally {
        await store.close();
      }
    });
  },
);
