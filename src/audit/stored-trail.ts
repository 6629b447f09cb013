/**
 * Reading a trail back out of the store, as the verifier and the exporter want it: entries as their
 * stored JSON text (so a corrupted row is reported, not thrown), oldest first, page by page.
 *
 * @example
 * const report = await verifyAuditTrail({
 *   entries: storedAuditEntries(store.audit),
 *   checkpoints: await storedAuditCheckpoints(store.audit),
 *   publicKey: key.publicKeyPem,
 * });
 */
import type { AuditRepository } from '../store/store.js';
import type { AuditCheckpoint } from './audit-signing.js';

/** Rows read per page. */
export const DEFAULT_TRAIL_PAGE_SIZE = 1000;

/** Every stored entry's JSON text, oldest first. */
export async function* storedAuditEntries(
  repository: Pick<AuditRepository, 'listAuditEntries'>,
  opts: { pageSize?: number } = {},
): AsyncGenerator<string> {
  const limit = opts.pageSize ?? DEFAULT_TRAIL_PAGE_SIZE;
  let after = 0;
  for (;;) {
    const rows = await repository.listAuditEntries({ afterSeq: after, limit });
    for (const row of rows) yield row.entry;
    const last = rows.at(-1);
    if (rows.length < limit || !last) return;
    after = last.seq;
  }
}

/**
 * Every stored checkpoint, smallest first. A row whose JSON does not parse comes back as an object
 * without a note, so verification reports it as a bad signature.
 */
export async function storedAuditCheckpoints(
  repository: Pick<AuditRepository, 'listAuditCheckpoints'>,
): Promise<AuditCheckpoint[]> {
  const out: AuditCheckpoint[] = [];
  let after = 0;
  for (;;) {
    const rows = await repository.listAuditCheckpoints({
      afterTreeSize: after,
      limit: DEFAULT_TRAIL_PAGE_SIZE,
    });
    for (const row of rows) {
      let parsed: AuditCheckpoint;
      try {
        parsed = JSON.parse(row.checkpoint) as AuditCheckpoint;
      } catch {
        parsed = { origin: '', treeSize: row.treeSize, rootHash: row.headHash, time: row.time, note: '' };
      }
      out.push(parsed);
    }
    const last = rows.at(-1);
    if (rows.length < DEFAULT_TRAIL_PAGE_SIZE || !last) return out;
    after = last.treeSize;
  }
}
