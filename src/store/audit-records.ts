/** Rows of the connector's audit ledger and of the relay's audit witness (see `store.ts`). All times are epoch milliseconds. */
import type { StoreLease } from './store-lease.js';

/**
 * One audit-trail entry as stored: `entry` is the entry's JSON text (the authoritative content; see
 * src/audit/), `seq`, `time` and `hash` are copied out of it for ordering and lookups.
 */
export interface AuditEntryRow {
  seq: number;
  time: number;
  hash: string;
  entry: string;
}

/** A signed audit checkpoint as stored: `checkpoint` is its JSON text. */
export interface AuditCheckpointRow {
  treeSize: number;
  headHash: string;
  time: number;
  checkpoint: string;
}

/** A checkpoint a connector submitted to this relay's audit witness. */
export interface WitnessCheckpointRow extends AuditCheckpointRow {
  tenant: string;
  receivedAt: number;
}

/** A connector's audit public key registered with the relay's witness. */
export interface WitnessKeyRecord {
  tenant: string;
  /** Lowercase hex SHA-256 of the SPKI DER. */
  keyId: string;
  publicKeyPem: string;
  registeredAt: number;
}

export type AddWitnessCheckpointResult =
  | { status: 'stored' }
  | { status: 'duplicate' }
  | { status: 'conflict'; existing: WitnessCheckpointRow };

/** What one audit transaction writes (see `AuditRepository.appendAudit`). */
export interface AuditBatch {
  entries: readonly AuditEntryRow[];
  checkpoints: readonly AuditCheckpointRow[];
  /** Deletes entries with `seq <= pruneThroughSeq` in the same transaction (retention). */
  pruneThroughSeq?: number;
}

/** The reads of the trail, also offered inside `appendAuditExclusive` (there: on its transaction). */
export interface AuditTrailReader {
  /** The entry with the highest seq. */
  auditHead(): Promise<AuditEntryRow | undefined>;
  /** The seq and hash of the entry with the highest seq (what a writer extends; the entry text is not read). */
  auditHeadLink(): Promise<{ seq: number; hash: string } | undefined>;
  getAuditEntry(seq: number): Promise<AuditEntryRow | undefined>;
  /** Oldest first, `seq > afterSeq` (default 0), at most `limit` (default 1000). */
  listAuditEntries(opts?: { afterSeq?: number; limit?: number }): Promise<AuditEntryRow[]>;
  /** The highest seq whose entry time is `< time`. */
  lastAuditSeqBefore(time: number): Promise<number | undefined>;
  /** Smallest tree size first, `treeSize > afterTreeSize` (default 0), at most `limit` (default 1000). */
  listAuditCheckpoints(opts?: { afterTreeSize?: number; limit?: number }): Promise<AuditCheckpointRow[]>;
  latestAuditCheckpoint(): Promise<AuditCheckpointRow | undefined>;
}

/**
 * The connector's audit ledger (append-only entries and signed checkpoints) and the relay's audit
 * witness (checkpoints per tenant). Integrity rules live in src/audit/; this only stores rows.
 */
export interface AuditRepository extends AuditTrailReader {
  /**
   * Writes entries and checkpoints in ONE transaction and, with `pruneThroughSeq`, deletes entries
   * with `seq <= pruneThroughSeq` in it too. Resolves once committed (durable). A `seq` or tree size
   * that already exists rejects with `AIRLOCK_STORE_DUPLICATE` and writes nothing.
   */
  appendAudit(batch: AuditBatch): Promise<void>;
  /**
   * The one-writer-at-a-time append of a trail shared by several processes (a connector pair): in
   * ONE transaction, takes the trail's writer lock (PostgreSQL: an advisory lock per schema and
   * `trail`; SQLite: its write transaction), lets `build` read the trail as it stands (every entry
   * other writers committed) and writes the batch it returns. Resolves with `build`'s result once
   * committed; `build` throwing rolls everything back.
   *
   * @example
   * await audit.appendAuditExclusive('acme', async (trail) => {
   *   const head = await trail.auditHead();
   *   return { batch: { entries: [next(head)], checkpoints: [] }, result: head };
   * });
   */
  appendAuditExclusive<T>(
    trail: string,
    build: (trail: AuditTrailReader) => Promise<{ batch: AuditBatch; result: T }>,
  ): Promise<T>;
  /**
   * The lease of the trail's checkpoint signer: one holder among the processes sharing the store
   * (PostgreSQL: a session advisory lock, handed over when its holder dies; SQLite: always held).
   */
  signerLease(trail: string): Promise<StoreLease>;

  /** Relay witness: registers (or re-registers, idempotently) a connector's audit public key. */
  registerWitnessKey(record: WitnessKeyRecord): Promise<void>;
  listWitnessKeys(tenant: string): Promise<WitnessKeyRecord[]>;
  /**
   * Relay witness: stores a checkpoint unless one with the same tree size exists (`duplicate` when
   * its head hash is equal, `conflict` otherwise) or a larger tree size is already stored (`conflict`).
   */
  addWitnessCheckpoint(row: WitnessCheckpointRow): Promise<AddWitnessCheckpointResult>;
  /** Smallest tree size first, `treeSize > afterTreeSize` (default 0), at most `limit` (default 1000). */
  listWitnessCheckpoints(
    tenant: string,
    opts?: { afterTreeSize?: number; limit?: number },
  ): Promise<WitnessCheckpointRow[]>;
}
