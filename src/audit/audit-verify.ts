/**
 * Offline verification of an audit trail: from the store, or from an exported copy, with nothing but
 * the audit public key. Checks, in one pass over the entries (oldest first):
 *
 * - every entry's `hash` matches its content and its `prevHash` matches the previous entry's hash;
 * - `seq` runs 1, 2, 3... without gaps, repeats or going backwards (a trail that starts later must be
 *   accounted for by a signed prune record further on);
 * - every checkpoint (local, and witnessed ones fetched from a witness) carries a valid Ed25519
 *   signature by the audit key, and the entry at its tree size has exactly its head hash;
 * - the trail is not shorter than any valid checkpoint (truncation).
 *
 * It reports the FIRST problem (smallest seq) and what kind it is:
 *
 * | kind | meaning |
 * |---|---|
 * | `modified` | an entry's content changed after it was written (or the chain was re-hashed after a checkpoint) |
 * | `missing` | entries were deleted (a gap in seq, or a prefix gone without a signed prune record) |
 * | `inserted` | an entry that was never part of the chain was added |
 * | `reordered` | entries are out of order |
 * | `truncated` | the tail was cut off after a checkpoint covered it |
 * | `bad-signature` | a checkpoint or prune record is not signed by the audit key |
 *
 * Entries after the last checkpoint are protected by the chain only: whoever holds the audit key can
 * rewrite or drop them. Witnessed checkpoints bound what even the key holder can change.
 *
 * @example
 * const report = await verifyAuditTrail({
 *   entries: storedAuditEntries(store.audit),
 *   checkpoints: await storedAuditCheckpoints(store.audit),
 *   publicKey: key.publicKeyPem,
 *   witnessed: await fetchWitnessedCheckpoints({ url, tenant: 'acme' }),
 * });
 * if (!report.ok) console.error(report.firstProblem); // { seq: 41, kind: 'missing', detail: 'entry 41 is missing' }
 */
import type { KeyObject } from 'node:crypto';
import { type AuditEntry, entryHash, GENESIS_HASH } from './audit-entry.js';
import { auditPublicKeyFromPem } from './audit-key.js';
import {
  type AuditCheckpoint,
  parseCheckpoint,
  verifyCheckpointSignature,
  verifyPruneSignature,
} from './audit-signing.js';

/** How far ahead the verifier looks to tell a reordering from a deletion. */
export const DEFAULT_VERIFY_LOOKAHEAD = 64;

export type AuditProblemKind =
  | 'modified'
  | 'missing'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'bad-signature';

export interface AuditProblem {
  /** The first entry affected (for checkpoints: their tree size). */
  seq: number;
  kind: AuditProblemKind;
  detail: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  /** Entries read. */
  entries: number;
  /** Local checkpoints with a valid signature. */
  checkpoints: number;
  /** Witnessed checkpoints with a valid signature. */
  witnessedCheckpoints: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  headHash: string | undefined;
  /** Largest tree size of a valid checkpoint whose head matched an entry (0: none). */
  signedThrough: number;
  /** Entries before `firstSeq` that a signed prune record accounts for. */
  pruned: number;
  firstProblem?: AuditProblem;
}

export interface VerifyAuditTrailOptions {
  /** Entries oldest first, as objects or as their JSON text. */
  entries: AsyncIterable<AuditEntry | string> | Iterable<AuditEntry | string>;
  /** The trail's own checkpoints. */
  checkpoints?: Iterable<AuditCheckpoint>;
  /** The audit public key: a KeyObject or SPKI PEM. */
  publicKey: KeyObject | string;
  /** Checkpoints fetched from a witness (`fetchWitnessedCheckpoints`). */
  witnessed?: Iterable<AuditCheckpoint>;
  /** When set, checkpoints signed for another tenant are refused. */
  tenant?: string;
  /** Default `DEFAULT_VERIFY_LOOKAHEAD` (64). */
  lookahead?: number;
}

interface SignedCheckpoint {
  checkpoint: AuditCheckpoint;
  witnessed: boolean;
}

type EntryLike = Record<string, unknown> & { seq: number; hash: string; prevHash: string };
type Parsed = { ok: true; entry: EntryLike } | { ok: false; reason: string };

/**
 * Verifies a trail; never throws for a bad trail, only reports.
 *
 * @example
 * const { ok, firstProblem } = await verifyAuditTrail({ entries, checkpoints, publicKey });
 */
export async function verifyAuditTrail(opts: VerifyAuditTrailOptions): Promise<AuditVerifyReport> {
  const key = typeof opts.publicKey === 'string' ? auditPublicKeyFromPem(opts.publicKey) : opts.publicKey;
  const problems: AuditProblem[] = [];
  const bySize = new Map<number, SignedCheckpoint[]>();
  let localCount = 0;
  let witnessedCount = 0;
  let largest: SignedCheckpoint | undefined;
  const consider = (raw: AuditCheckpoint, witnessed: boolean) => {
    const what = witnessed ? 'witnessed checkpoint' : 'checkpoint';
    const cp = parseCheckpoint(raw);
    const size = typeof raw?.treeSize === 'number' ? raw.treeSize : 0;
    if (!cp || !verifyCheckpointSignature(cp, key)) {
      problems.push({
        seq: size,
        kind: 'bad-signature',
        detail: `${what} at tree size ${size} is not signed by the audit key`,
      });
      return;
    }
    if (opts.tenant !== undefined && cp.tenant !== opts.tenant) {
      problems.push({
        seq: size,
        kind: 'bad-signature',
        detail: `${what} at tree size ${size} is signed for tenant ${cp.tenant}`,
      });
      return;
    }
    if (witnessed) witnessedCount += 1;
    else localCount += 1;
    const signed = { checkpoint: cp, witnessed };
    bySize.set(cp.treeSize, [...(bySize.get(cp.treeSize) ?? []), signed]);
    if (!largest || cp.treeSize > largest.checkpoint.treeSize) largest = signed;
  };
  for (const cp of opts.checkpoints ?? []) consider(cp, false);
  for (const cp of opts.witnessed ?? []) consider(cp, true);

  const it = new Lookahead(opts.entries, opts.lookahead ?? DEFAULT_VERIFY_LOOKAHEAD);
  let count = 0;
  let first: { seq: number; prevHash: string } | undefined;
  let prev: { seq: number; hash: string } | undefined;
  let prevPrevHash: string | undefined;
  let pruneResolved = false;
  /** Largest seq a valid prune record accounts for below the first entry (0: none). */
  let prunedBelow = 0;
  let signedThrough = 0;
  let streamProblem: AuditProblem | undefined;
  for (;;) {
    const item = await it.next();
    if (!item) break;
    const expected = (prev?.seq ?? 0) + 1;
    if (!item.ok) {
      streamProblem = {
        seq: expected,
        kind: 'modified',
        detail: `entry after seq ${expected - 1} is unreadable: ${item.reason}`,
      };
      break;
    }
    const e = item.entry;
    count += 1;
    if (!prev) {
      first = { seq: e.seq, prevHash: e.prevHash };
      if (e.seq === 1 && e.prevHash !== GENESIS_HASH) {
        streamProblem = {
          seq: 1,
          kind: 'modified',
          detail: 'entry 1 does not start the chain (prevHash is not the genesis hash)',
        };
        break;
      }
    } else if (e.seq === prev.seq) {
      streamProblem = {
        seq: e.seq,
        kind: 'inserted',
        detail: `two entries claim seq ${e.seq}: an entry was inserted`,
      };
      break;
    } else if (e.seq < prev.seq) {
      streamProblem = {
        seq: e.seq,
        kind: 'reordered',
        detail: `entry ${e.seq} appears after entry ${prev.seq}`,
      };
      break;
    } else if (e.seq > expected) {
      const later = await it.find((x) => x.ok && x.entry.seq === expected);
      streamProblem = later
        ? { seq: expected, kind: 'reordered', detail: `entry ${expected} appears after entry ${e.seq}` }
        : {
            seq: expected,
            kind: 'missing',
            detail:
              e.seq - 1 === expected
                ? `entry ${expected} is missing`
                : `entries ${expected}..${e.seq - 1} are missing`,
          };
      break;
    }
    if (entryHash(e) !== e.hash) {
      streamProblem = {
        seq: e.seq,
        kind: 'modified',
        detail: `entry ${e.seq} does not match its hash: its content was changed`,
      };
      break;
    }
    if (prev && e.prevHash !== prev.hash) {
      streamProblem =
        prevPrevHash !== undefined && e.prevHash === prevPrevHash
          ? {
              seq: prev.seq,
              kind: 'inserted',
              detail: `entry ${prev.seq} is not part of the chain: entry ${e.seq} links to the entry before it`,
            }
          : {
              seq: prev.seq,
              kind: 'modified',
              detail: `entry ${prev.seq} was rewritten: entry ${e.seq} was chained to a different version of it`,
            };
      break;
    }
    for (const signed of bySize.get(e.seq) ?? []) {
      const what = signed.witnessed ? 'witnessed checkpoint' : 'checkpoint';
      if (signed.checkpoint.headHash !== e.hash) {
        streamProblem = {
          seq: e.seq,
          kind: 'modified',
          detail: `entry ${e.seq} differs from the ${what} signed at ${iso(signed.checkpoint.time)}: entries up to ${e.seq} were rewritten`,
        };
        break;
      }
      signedThrough = Math.max(signedThrough, e.seq);
    }
    if (streamProblem) break;
    if (e.kind === 'prune') {
      const valid = verifyPruneSignature(
        {
          tenant: String(e.tenant),
          prunedThroughSeq: Number(e.prunedThroughSeq),
          prunedThroughHash: String(e.prunedThroughHash),
          olderThan: Number(e.olderThan),
          time: Number(e.time),
        },
        String(e.signature),
        key,
      );
      if (!valid) {
        streamProblem = {
          seq: e.seq,
          kind: 'bad-signature',
          detail: `prune record ${e.seq} is not signed by the audit key`,
        };
        break;
      }
      if (
        first &&
        first.seq > 1 &&
        e.prunedThroughSeq === first.seq - 1 &&
        e.prunedThroughHash === first.prevHash
      ) {
        pruneResolved = true;
      } else if (first && typeof e.prunedThroughSeq === 'number' && e.prunedThroughSeq < first.seq) {
        prunedBelow = Math.max(prunedBelow, e.prunedThroughSeq);
      }
    }
    prevPrevHash = prev?.hash;
    prev = { seq: e.seq, hash: e.hash };
  }
  await it.close();

  if (streamProblem) problems.push(streamProblem);
  else {
    if (first && first.seq > 1 && !pruneResolved) {
      const from = prunedBelow + 1;
      problems.push({
        seq: from,
        kind: 'missing',
        detail: `entries ${from}..${first.seq - 1} are missing and no signed prune record accounts for them`,
      });
    }
    const lastSeq = prev?.seq ?? 0;
    if (largest && largest.checkpoint.treeSize > lastSeq) {
      const what = largest.witnessed ? 'witnessed checkpoint' : 'checkpoint';
      problems.push({
        seq: lastSeq + 1,
        kind: 'truncated',
        detail: `the trail ends at entry ${lastSeq} but the ${what} signed at ${iso(largest.checkpoint.time)} covers ${largest.checkpoint.treeSize} entries: entries ${lastSeq + 1}..${largest.checkpoint.treeSize} were removed`,
      });
    }
  }
  const firstProblem = problems.reduce<AuditProblem | undefined>(
    (best, p) => (best === undefined || p.seq < best.seq ? p : best),
    undefined,
  );
  return {
    ok: firstProblem === undefined,
    entries: count,
    checkpoints: localCount,
    witnessedCheckpoints: witnessedCount,
    firstSeq: first?.seq,
    lastSeq: prev?.seq,
    headHash: prev?.hash,
    signedThrough,
    pruned: pruneResolved && first ? first.seq - 1 : 0,
    ...(firstProblem ? { firstProblem } : {}),
  };
}

/** Parses entries and lets the verifier peek ahead a bounded distance. */
class Lookahead {
  readonly #source: AsyncIterator<AuditEntry | string> | Iterator<AuditEntry | string>;
  readonly #max: number;
  readonly #buffer: Parsed[] = [];
  #done = false;

  constructor(source: AsyncIterable<AuditEntry | string> | Iterable<AuditEntry | string>, max: number) {
    this.#source =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<AuditEntry | string>)[Symbol.asyncIterator]()
        : (source as Iterable<AuditEntry | string>)[Symbol.iterator]();
    this.#max = Math.max(1, max);
  }

  async next(): Promise<Parsed | undefined> {
    return this.#buffer.shift() ?? (await this.#pull());
  }

  /** Whether one of the next `max` items matches (they stay queued). */
  async find(pred: (item: Parsed) => boolean): Promise<boolean> {
    while (this.#buffer.length < this.#max && !this.#done) {
      const item = await this.#pull();
      if (!item) break;
      this.#buffer.push(item);
    }
    return this.#buffer.some(pred);
  }

  async close(): Promise<void> {
    if (!this.#done) await this.#source.return?.();
  }

  async #pull(): Promise<Parsed | undefined> {
    if (this.#done) return undefined;
    const r = await this.#source.next();
    if (r.done) {
      this.#done = true;
      return undefined;
    }
    return parse(r.value);
  }
}

function parse(raw: AuditEntry | string): Parsed {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, reason: 'not valid JSON' };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'not an object' };
  const v = value as Record<string, unknown>;
  if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 1) return { ok: false, reason: 'no valid seq' };
  if (typeof v.hash !== 'string' || typeof v.prevHash !== 'string')
    return { ok: false, reason: 'no hash or prevHash' };
  return { ok: true, entry: v as EntryLike };
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
