/**
 * Export: JSON Lines that verify offline with only the file (tampering with the copy is named), and
 * OCSF API Activity events for a SIEM.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditError } from '../../src/audit/audit-error.js';
import { auditExportLines, exportAuditTrail, readAuditExport } from '../../src/audit/audit-export.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { verifyAuditTrail } from '../../src/audit/audit-verify.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { adminEvent, requestEvent, TENANT } from './audit-fixture.js';

let dir: string;
let store: Store;
let file: string;
const key = generateAuditKey();

/** 30 entries (every fifth an admin event, every seventh request denied), checkpoints every 8. */
async function writeTrail(): Promise<void> {
  const ledger = await AuditLedger.open({
    repository: store.audit,
    tenant: TENANT,
    key,
    checkpointEvery: 8,
    checkpointIntervalMs: 0,
  });
  for (let i = 1; i <= 30; i++) {
    await ledger.append(
      i % 5 === 0
        ? adminEvent(i)
        : requestEvent(
            i,
            i % 7 === 0 ? { decision: 'deny', code: 'AIRLOCK_POLICY_DENY', reason: 'not allowed' } : {},
          ),
    );
  }
  await ledger.close();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-audit-export-'));
  store = await openStore({ url: 'sqlite::memory:' });
  await writeTrail();
  file = join(dir, 'trail.jsonl');
  const { lines } = await exportAuditTrail({
    repository: store.audit,
    tenant: TENANT,
    publicKeyPem: key.publicKeyPem,
    path: file,
  });
  assert.equal(lines, 1 + 4 + 30); // header, checkpoints 8/16/24/30, entries
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function verifyFile(path: string) {
  const trail = await readAuditExport(path);
  return verifyAuditTrail({
    entries: trail.entries,
    checkpoints: trail.checkpoints,
    publicKey: trail.header.publicKey,
    tenant: trail.header.tenant,
  });
}

async function tampered(name: string, edit: (lines: string[]) => string[]): Promise<string> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const path = join(dir, name);
  await writeFile(path, `${edit(lines).join('\n')}\n`);
  return path;
}

/** Line index of entry `seq` (header and 4 checkpoints come first). */
const at = (seq: number) => 4 + seq;

/** Edits of the exported copy: the file name, the edit, and the entry and kind the verifier must name. */
const TAMPER_CASES: [string, (l: string[]) => string[], number, string][] = [
  [
    'edit.jsonl',
    (l) => l.map((x, i) => (i === at(12) ? x.replace('"requestId":12', '"requestId":13') : x)),
    12,
    'modified',
  ],
  ['delete.jsonl', (l) => l.filter((_, i) => i !== at(12)), 12, 'missing'],
  ['insert.jsonl', (l) => [...l.slice(0, at(13)), l[at(12)] ?? '', ...l.slice(at(13))], 12, 'inserted'],
  [
    'swap.jsonl',
    (l) => l.map((x, i) => (i === at(12) ? (l[at(13)] ?? '') : i === at(13) ? (l[at(12)] ?? '') : x)),
    12,
    'reordered',
  ],
  ['truncate.jsonl', (l) => l.slice(0, at(20) + 1), 21, 'truncated'],
  ['garbage.jsonl', (l) => l.map((x, i) => (i === at(3) ? x.slice(0, 40) : x)), 3, 'modified'],
];

describe('audit export', () => {
  test('the exported copy verifies offline, with the key it carries', async () => {
    const mode = (await stat(file)).mode & 0o777;
    assert.equal(mode, 0o600);
    const trail = await readAuditExport(file);
    assert.equal(trail.header.type, 'airlock-audit-export');
    assert.equal(trail.header.tenant, TENANT);
    assert.equal(trail.header.keyId, key.keyId);
    assert.equal(trail.checkpoints.length, 4);
    const report = await verifyAuditTrail({
      entries: trail.entries,
      checkpoints: trail.checkpoints,
      publicKey: trail.header.publicKey,
    });
    assert.equal(report.ok, true, JSON.stringify(report.firstProblem));
    assert.equal(report.entries, 30);
    assert.equal(report.signedThrough, 30);
  });

  test('tampering with the exported copy is named', async () => {
    for (const [name, edit, seq, kind] of TAMPER_CASES) {
      const report = await verifyFile(await tampered(name, edit));
      assert.equal(report.ok, false, name);
      assert.deepEqual(
        [report.firstProblem?.seq, report.firstProblem?.kind],
        [seq, kind],
        `${name}: ${report.firstProblem?.detail}`,
      );
    }
  });

  test('a file that is not an export is refused', async () => {
    const path = join(dir, 'not-an-export.jsonl');
    await writeFile(path, '{"hello":"world"}\n');
    await assert.rejects(
      readAuditExport(path),
      (e: unknown) => e instanceof AuditError && e.code === 'AIRLOCK_AUDIT_EXPORT_INVALID',
    );
  });
});

describe('audit export: OCSF', () => {
  test('OCSF export: one API Activity event per entry', async () => {
    const events: Record<string, unknown>[] = [];
    for await (const line of auditExportLines({
      repository: store.audit,
      tenant: TENANT,
      publicKeyPem: key.publicKeyPem,
      format: 'ocsf',
    })) {
      events.push(JSON.parse(line) as Record<string, unknown>);
    }
    assert.equal(events.length, 30);
    for (const e of events) {
      assert.equal(e.class_uid, 6003);
      assert.equal(e.category_uid, 6);
      assert.equal(e.type_uid, 600300 + (e.activity_id as number));
      assert.equal((e.metadata as { version: string }).version, '1.3.0');
    }
    const first = events[0] as {
      activity_id: number;
      status_id: number;
      severity_id: number;
      time: number;
      metadata: { sequence: number; uid: string; tenant_uid: string };
      actor: { user: { name: string } };
      api: { operation: string; service: { name: string } };
    };
    assert.equal(first.metadata.sequence, 1);
    assert.equal(first.metadata.tenant_uid, TENANT);
    assert.equal(first.actor.user.name, 'claims-bot');
    assert.equal(first.api.operation, 'tools/call');
    assert.equal(first.api.service.name, 'erp.lookup_invoice');
    assert.equal(first.status_id, 1);
    const denied = events[6] as { status_id: number; status_code: string; severity_id: number };
    assert.deepEqual(
      [denied.status_id, denied.status_code, denied.severity_id],
      [2, 'AIRLOCK_POLICY_DENY', 3],
    );
    const admin = events[4] as {
      activity_id: number;
      api: { operation: string };
      actor: { user: { name: string } };
    };
    assert.deepEqual(
      [admin.activity_id, admin.api.operation, admin.actor.user.name],
      [1, 'tool.pin', 'console:alice'],
    );
  });
});
