/**
 * `airlock audit export`: the trail as JSON Lines, in one of two formats.
 *
 * `jsonl` (verifiable offline with `readAuditExport` + `verifyAuditTrail`):
 *
 *   {"type":"airlock-audit-export","version":1,"tenant":"acme","keyId":"…","publicKey":"-----BEGIN PUBLIC KEY-----…","exportedAt":…}
 *   {"type":"checkpoint","checkpoint":{…}}     one per checkpoint, smallest first
 *   {"type":"entry","entry":{…}}               one per entry, oldest first, byte-for-byte as stored
 *
 * `ocsf`: one OCSF 1.3.0 API Activity event per entry (see ocsf-format.ts), for SIEM ingestion.
 *
 * @example
 * await exportAuditTrail({ repository: store.audit, tenant: 'acme', publicKeyPem: key.publicKeyPem, path: 'trail.jsonl' });
 * const trail = await readAuditExport('trail.jsonl');
 * const report = await verifyAuditTrail({ ...trail, publicKey: trail.header.publicKey });
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AuditRepository } from '../store/store.js';
import type { AuditEntry } from './audit-entry.js';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import { auditKeyId, auditPublicKeyFromPem } from './audit-key.js';
import type { AuditCheckpoint } from './audit-signing.js';
import { toOcsfApiActivity } from './ocsf-format.js';
import { storedAuditCheckpoints, storedAuditEntries } from './stored-trail.js';

export type AuditExportFormat = 'jsonl' | 'ocsf';

/** First line of a `jsonl` export. */
export interface AuditExportHeader {
  type: 'airlock-audit-export';
  version: 1;
  tenant: string;
  keyId: string;
  /** SPKI PEM of the audit public key. */
  publicKey: string;
  exportedAt: number;
}

export interface AuditExportOptions {
  repository: Pick<AuditRepository, 'listAuditEntries' | 'listAuditCheckpoints'>;
  tenant: string;
  publicKeyPem: string;
  /** Default `jsonl`. */
  format?: AuditExportFormat;
  now?: () => number;
}

/**
 * The export, line by line (without newlines).
 *
 * @example
 * for await (const line of auditExportLines({ repository: store.audit, tenant, publicKeyPem, format: 'ocsf' })) send(line);
 */
export async function* auditExportLines(opts: AuditExportOptions): AsyncGenerator<string> {
  if ((opts.format ?? 'jsonl') === 'ocsf') {
    for await (const text of storedAuditEntries(opts.repository)) {
      let entry: AuditEntry;
      try {
        entry = JSON.parse(text) as AuditEntry;
      } catch {
        yield JSON.stringify({
          class_uid: 6003,
          status_id: 2,
          status_detail: 'unreadable audit entry',
          unmapped: { raw: text },
        });
        continue;
      }
      yield JSON.stringify(toOcsfApiActivity(entry));
    }
    return;
  }
  const header: AuditExportHeader = {
    type: 'airlock-audit-export',
    version: 1,
    tenant: opts.tenant,
    keyId: auditKeyId(auditPublicKeyFromPem(opts.publicKeyPem)),
    publicKey: opts.publicKeyPem,
    exportedAt: (opts.now ?? Date.now)(),
  };
  yield JSON.stringify(header);
  for (const checkpoint of await storedAuditCheckpoints(opts.repository)) {
    yield JSON.stringify({ type: 'checkpoint', checkpoint });
  }
  for await (const text of storedAuditEntries(opts.repository)) {
    // The stored text goes out unchanged, so a corrupted row stays visible as such.
    yield `{"type":"entry","entry":${text}}`;
  }
}

/**
 * Writes the export to `path` (mode 0600). Resolves with the number of lines written.
 *
 * @example
 * await exportAuditTrail({ repository: store.audit, tenant, publicKeyPem, path: '/tmp/acme-audit.jsonl' });
 */
export async function exportAuditTrail(
  opts: AuditExportOptions & { path: string },
): Promise<{ lines: number }> {
  let lines = 0;
  async function* withNewlines() {
    for await (const line of auditExportLines(opts)) {
      lines += 1;
      yield `${line}\n`;
    }
  }
  await pipeline(Readable.from(withNewlines()), createWriteStream(opts.path, { mode: 0o600 }));
  return { lines };
}

/** A `jsonl` export opened for verification. */
export interface OpenedAuditExport {
  header: AuditExportHeader;
  checkpoints: AuditCheckpoint[];
  /** Entries in file order; a line that is not valid JSON comes through as its raw text. */
  entries: AsyncIterable<AuditEntry | string>;
}

/**
 * Opens a `jsonl` export: reads the header and checkpoints, and streams the entries. Throws
 * `AuditError` `AIRLOCK_AUDIT_EXPORT_INVALID` when the first line is not an export header.
 *
 * @example
 * const { header, checkpoints, entries } = await readAuditExport('acme-audit.jsonl');
 * const report = await verifyAuditTrail({ entries, checkpoints, publicKey: header.publicKey });
 */
export async function readAuditExport(path: string): Promise<OpenedAuditExport> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  const lines = rl[Symbol.asyncIterator]();
  const firstLine = await lines.next();
  let header: AuditExportHeader | undefined;
  try {
    const parsed = firstLine.done ? undefined : (JSON.parse(firstLine.value) as AuditExportHeader);
    if (parsed?.type === 'airlock-audit-export' && typeof parsed.publicKey === 'string') header = parsed;
  } catch {
    header = undefined;
  }
  if (!header) {
    rl.close();
    throw new AuditError(AUDIT_ERROR_CODES.exportInvalid, `${path} is not an Airlock audit export (jsonl)`);
  }
  const checkpoints: AuditCheckpoint[] = [];
  let pending: string | undefined;
  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    if (next.value.trim() === '') continue;
    const parsed = tryParse(next.value) as { type?: string; checkpoint?: AuditCheckpoint } | undefined;
    if (parsed?.type === 'checkpoint' && parsed.checkpoint) {
      checkpoints.push(parsed.checkpoint);
      continue;
    }
    pending = next.value;
    break;
  }
  async function* entries(): AsyncGenerator<AuditEntry | string> {
    try {
      if (pending !== undefined) yield entryOf(pending);
      for (;;) {
        const next = await lines.next();
        if (next.done) return;
        if (next.value.trim() !== '') yield entryOf(next.value);
      }
    } finally {
      rl.close();
    }
  }
  if (pending === undefined) rl.close();
  return { header, checkpoints, entries: entries() };
}

function entryOf(line: string): AuditEntry | string {
  const parsed = tryParse(line) as { type?: string; entry?: AuditEntry } | undefined;
  return parsed?.type === 'entry' && parsed.entry && typeof parsed.entry === 'object' ? parsed.entry : line;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
