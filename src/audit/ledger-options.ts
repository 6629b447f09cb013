/**
 * Options, defaults and stats of the audit ledger (src/audit/audit-ledger.ts).
 *
 * @example
 * const opts: AuditLedgerOptions = { repository: store.audit, tenant: 'acme', key };
 */
import type { Logger } from 'pino';
import type { AuditRepository } from '../store/store.js';
import type { AuditError } from './audit-error.js';
import type { AuditSigningKey } from './audit-key.js';
import type { AuditSink, AuditSinkStats } from './audit-sink.js';
import type { WitnessView } from './audit-verify.js';
import type { GroupCommitOptions } from './group-commit.js';
import type { Witness } from './witness-client.js';
import type { WitnessQueueOptions, WitnessQueueStats } from './witness-queue.js';

/** A checkpoint is signed at least every this many entries. */
export const DEFAULT_CHECKPOINT_EVERY_ENTRIES = 1000;
/** ...and at least this often while entries are being added (the unwitnessed tail is about this long). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1_000;
/** How long `close()` lets witness queues deliver what is pending. */
export const DEFAULT_CLOSE_DRAIN_MS = 2_000;

export interface AuditLedgerOptions {
  /** Usually `store.audit`. */
  repository: AuditRepository;
  /** Tenant name, recorded in every entry; the checkpoint origin is `airlock.audit/<tenant>`. */
  tenant: string;
  /** The connector's audit key (`loadOrCreateAuditKey(dataDir)`). */
  key: AuditSigningKey;
  /** Default `DEFAULT_CHECKPOINT_EVERY_ENTRIES` (1000). */
  checkpointEvery?: number;
  /** Default `DEFAULT_CHECKPOINT_INTERVAL_MS` (1 s). 0 disables the timer. */
  checkpointIntervalMs?: number;
  /** Group commit tuning; see `GroupCommitOptions` for defaults. */
  groupCommit?: GroupCommitOptions;
  /** Where checkpoints are sent (tlog-witnesses). Each gets its own retry queue. */
  witnesses?: Witness[];
  /** What the witnesses cosigned, fetched before opening: the start-up check compares the trail with it. */
  witnessViews?: WitnessView[];
  /** Queue options for every witness. */
  witnessQueue?: Omit<WitnessQueueOptions, 'logger' | 'prover' | 'onDiverged'>;
  /** Called when a witness holds a history this trail contradicts (the ledger then refuses appends). */
  onDiverged?: (error: AuditError) => void;
  /**
   * Called when this ledger becomes (true) or stops being (false) the trail's checkpoint signer: of
   * the ledgers sharing a store, only the holder of the store's signer lease signs checkpoints.
   */
  onSignerChange?: (signer: boolean) => void;
  /** Live copies of committed entries (syslog, OTLP). */
  sinks?: AuditSink[];
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** Default: silent. */
  logger?: Logger;
}

export interface AuditLedgerStats {
  head: { seq: number; hash: string };
  rootHash: string;
  checkpointedTreeSize: number;
  available: boolean;
  /** Whether this ledger signs the trail's checkpoints now (holds the signer lease). */
  checkpointSigner: boolean;
  tampered: string | undefined;
  witnesses: WitnessQueueStats[];
  sinks: AuditSinkStats[];
}
