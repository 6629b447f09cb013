/**
 * Verification of an audit trail: from the store, or from an exported copy, with the audit public
 * key and, for the part a key holder could rewrite, the witnesses' view. It checks:
 *
 * - the hash chain: every entry's `hash`, `prevHash` links, `seq` 1, 2, 3... (a pruned prefix must
 *   be accounted for by a signed prune record carrying the prefix's Merkle frontier);
 * - the RFC 6962 Merkle tree over the entries: every checkpoint (signed C2SP note by the audit key)
 *   must carry the root of the first `treeSize` entries; a checkpoint larger than the trail means
 *   it was cut (truncated);
 * - the witnesses: each witness's latest cosigned checkpoint must match the trail's root at that
 *   size. Entries after what a quorum of witnesses cosigned are "unwitnessed": a key holder could
 *   have rewritten them. Without a reachable quorum the whole trail is unwitnessed; that is a
 *   problem (kind `unwitnessed`) unless `offline` is set, and then the report says what was not checked.
 *
 * It reports the FIRST problem (smallest seq) and its kind: `modified`, `missing`, `inserted`,
 * `reordered`, `truncated`, `bad-signature`, `unwitnessed`.
 *
 * @example
 * const report = await verifyAuditTrail({
 *   entries: storedAuditEntries(store.audit),
 *   checkpoints: await storedAuditCheckpoints(store.audit),
 *   publicKey: key.publicKeyPem,
 *   witnesses: [{ name: 'relay', checkpoint: latestFromRelay }],
 *   quorum: 1,
 * });
 * if (!report.ok) console.error(report.firstProblem);
 */
import type { KeyObject } from 'node:crypto';
import { type AuditProblem, walkAuditChain } from './audit-chain-walk.js';
import type { AuditEntry } from './audit-entry.js';
import { auditPublicKeyFromPem } from './audit-key.js';
import {
  type AuditCheckpoint,
  auditOrigin,
  parseCheckpoint,
  verifyCheckpointSignature,
} from './audit-signing.js';
import { MerkleRangeError, MerkleTree } from './merkle-tree.js';

export type { AuditProblem, AuditProblemKind } from './audit-chain-walk.js';

/** How far ahead the verifier looks to tell a reordering from a deletion. */
export const DEFAULT_VERIFY_LOOKAHEAD = 64;

/** What one witness said: its latest cosigned checkpoint, or why it could not be asked. */
export interface WitnessView {
  name: string;
  /** The latest checkpoint it cosigned for this log (undefined: it knows none). */
  checkpoint?: AuditCheckpoint | undefined;
  /** Set when the witness could not be reached or answered nonsense. */
  error?: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  /** Entries read. */
  entries: number;
  /** Local checkpoints with a valid signature. */
  checkpoints: number;
  /** Witness checkpoints with a valid signature. */
  witnessedCheckpoints: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  headHash: string | undefined;
  /** Hex Merkle root over all entries read (undefined when the tree could not be built). */
  rootHash: string | undefined;
  /** Largest tree size of a valid checkpoint whose root matched (0: none). */
  signedThrough: number;
  /** Largest tree size a quorum of witnesses cosigned and that matched (0: none). */
  witnessedThrough: number;
  /** Witnesses that answered / the quorum asked for. */
  witnessesReached: number;
  quorum: number;
  /** Entries that no witness quorum vouches for (`from > to`: none). */
  unwitnessed: { from: number; to: number };
  /** Entries before `firstSeq` that a signed prune record accounts for. */
  pruned: number;
  /** With `offline`: what was not checked. */
  notChecked?: string;
  firstProblem?: AuditProblem;
  /** The tree built (for the ledger's start-up check); not serialized. */
  tree?: MerkleTree;
}

export interface VerifyAuditTrailOptions {
  /** Entries oldest first, as objects or as their JSON text. */
  entries: AsyncIterable<AuditEntry | string> | Iterable<AuditEntry | string>;
  /** The trail's own checkpoints. */
  checkpoints?: Iterable<AuditCheckpoint>;
  /** The audit public key: a KeyObject or SPKI PEM. */
  publicKey: KeyObject | string;
  /** Further checkpoints held elsewhere (e.g. fetched from witnesses), checked like local ones. */
  witnessed?: Iterable<AuditCheckpoint>;
  /**
   * What each witness holds; see `quorum`. Not given: witnesses are not consulted and the report's
   * `notChecked` says so (as with `offline`); given (even empty): a missing quorum is a problem.
   */
  witnesses?: WitnessView[];
  /** Witnesses that must answer and agree. Default: all of `witnesses`. */
  quorum?: number;
  /** Accept the trail without a witness quorum (the report's `notChecked` says what that leaves out). */
  offline?: boolean;
  /** When set, checkpoints for another origin are refused. */
  tenant?: string;
  /** Default `DEFAULT_VERIFY_LOOKAHEAD` (64). */
  lookahead?: number;
}

/**
 * Verifies a trail; never throws for a bad trail, only reports.
 *
 * @example
 * const { ok, firstProblem } = await verifyAuditTrail({ entries, checkpoints, publicKey, offline: true });
 */
export async function verifyAuditTrail(opts: VerifyAuditTrailOptions): Promise<AuditVerifyReport> {
  const key = typeof opts.publicKey === 'string' ? auditPublicKeyFromPem(opts.publicKey) : opts.publicKey;
  const walk = await walkAuditChain(opts.entries, key, opts.lookahead ?? DEFAULT_VERIFY_LOOKAHEAD);
  const problems: AuditProblem[] = walk.problem ? [walk.problem] : [];
  const tree = buildTree(walk.prefixFrontier, walk.firstSeq, walk.leaves, problems);
  const origin = opts.tenant !== undefined ? auditOrigin(opts.tenant) : undefined;
  const check = (raw: AuditCheckpoint, what: string): number | undefined =>
    checkCheckpoint(raw, { key, origin, tree, what, streamBroken: walk.problem !== undefined, problems });
  let signedThrough = 0;
  let localCount = 0;
  let witnessedCount = 0;
  // Largest first, so that a cut tail is reported against the checkpoint that covers the most.
  const local = [...(opts.checkpoints ?? [])].sort((a, b) => Number(b?.treeSize) - Number(a?.treeSize));
  for (const cp of local) {
    const size = check(cp, 'checkpoint');
    if (size !== undefined) {
      localCount += 1;
      signedThrough = Math.max(signedThrough, size);
    }
  }
  for (const cp of opts.witnessed ?? []) {
    const size = check(cp, 'witnessed checkpoint');
    if (size !== undefined) {
      witnessedCount += 1;
      signedThrough = Math.max(signedThrough, size);
    }
  }
  const views = opts.witnesses ?? [];
  const quorum = Math.max(0, Math.min(views.length, opts.quorum ?? views.length));
  const vouched: number[] = [];
  let reached = 0;
  for (const view of views) {
    if (view.error !== undefined) continue;
    reached += 1;
    if (!view.checkpoint) {
      vouched.push(0);
      continue;
    }
    const size = check(view.checkpoint, `checkpoint cosigned by witness ${view.name}`);
    if (size !== undefined) witnessedCount += 1;
    vouched.push(size ?? 0);
  }
  vouched.sort((a, b) => b - a);
  const witnessedThrough = quorum > 0 && vouched.length >= quorum ? (vouched[quorum - 1] ?? 0) : 0;
  const lastSeq = walk.lastSeq ?? 0;
  const unwitnessed = { from: witnessedThrough + 1, to: lastSeq };
  const notChecked = witnessGaps(
    views.length === 0 || reached < quorum,
    quorum,
    reached,
    unwitnessed,
    opts,
    problems,
  );
  const firstProblem = problems.reduce<AuditProblem | undefined>(
    (best, p) => (best === undefined || p.seq < best.seq ? p : best),
    undefined,
  );
  return {
    ok: firstProblem === undefined,
    entries: walk.count,
    checkpoints: localCount,
    witnessedCheckpoints: witnessedCount,
    firstSeq: walk.firstSeq,
    lastSeq: walk.lastSeq,
    headHash: walk.headHash,
    rootHash: tree ? tree.root().toString('hex') : undefined,
    signedThrough,
    witnessedThrough,
    witnessesReached: reached,
    quorum,
    unwitnessed,
    pruned: walk.pruned,
    ...(notChecked ? { notChecked } : {}),
    ...(firstProblem ? { firstProblem } : {}),
    ...(tree ? { tree } : {}),
  };
}

function buildTree(
  frontierHex: string[] | undefined,
  firstSeq: number | undefined,
  leaves: Buffer[],
  problems: AuditProblem[],
): MerkleTree | undefined {
  // A gap at the start without a frontier is already reported (missing): no tree to compare with.
  if (firstSeq !== undefined && firstSeq > 1 && !frontierHex) return undefined;
  try {
    let tree = new MerkleTree();
    if (frontierHex && firstSeq !== undefined && firstSeq > 1) {
      let start = 0;
      const nodes = frontierHex.map((hex) => {
        let size = 1;
        while (size * 2 <= firstSeq - 1 - start) size *= 2;
        const node = { start, size, hash: Buffer.from(hex, 'hex') };
        start += size;
        return node;
      });
      if (start !== firstSeq - 1) throw new MerkleRangeError('frontier does not cover the pruned prefix');
      tree = MerkleTree.afterPrefix(nodes);
    }
    for (const leaf of leaves) tree.append(leaf);
    return tree;
  } catch (err) {
    problems.push({
      seq: 1,
      kind: 'modified',
      detail: `the prune record's Merkle frontier is invalid: ${(err as Error).message}`,
    });
    return undefined;
  }
}

/** Checks one checkpoint against the tree; returns its size when it is valid and matches. */
function checkCheckpoint(
  raw: AuditCheckpoint,
  c: {
    key: KeyObject;
    origin: string | undefined;
    tree: MerkleTree | undefined;
    what: string;
    streamBroken: boolean;
    problems: AuditProblem[];
  },
): number | undefined {
  const cp = parseCheckpoint(raw);
  const size = typeof raw?.treeSize === 'number' ? raw.treeSize : 0;
  if (!cp || !verifyCheckpointSignature(cp, c.key) || (c.origin !== undefined && cp.origin !== c.origin)) {
    c.problems.push({
      seq: size,
      kind: 'bad-signature',
      detail: `${c.what} at tree size ${size} is not signed by the audit key`,
    });
    return undefined;
  }
  if (!c.tree) return undefined;
  if (cp.treeSize > c.tree.size) {
    if (c.streamBroken) return undefined;
    const last = c.tree.size;
    c.problems.push({
      seq: last + 1,
      kind: 'truncated',
      detail: `the trail ends at entry ${last} but the ${c.what} covers ${cp.treeSize} entries: entries ${last + 1}..${cp.treeSize} were removed`,
    });
    return undefined;
  }
  let root: string;
  try {
    root = c.tree.root(cp.treeSize).toString('hex');
  } catch {
    return undefined; // inside the pruned prefix: nothing left to compare
  }
  if (root !== cp.rootHash) {
    c.problems.push({
      seq: cp.treeSize,
      kind: 'modified',
      detail: `entries 1..${cp.treeSize} do not hash to the root of the ${c.what}: entries at or before ${cp.treeSize} were rewritten`,
    });
    return undefined;
  }
  return cp.treeSize;
}

function witnessGaps(
  noQuorum: boolean,
  quorum: number,
  reached: number,
  unwitnessed: { from: number; to: number },
  opts: VerifyAuditTrailOptions,
  problems: AuditProblem[],
): string | undefined {
  if (!noQuorum) return undefined;
  const range =
    unwitnessed.from <= unwitnessed.to ? `entries ${unwitnessed.from}..${unwitnessed.to}` : 'the trail';
  const why =
    (opts.witnesses ?? []).length === 0
      ? 'no witness was consulted'
      : `only ${reached} of the ${quorum} witnesses needed answered`;
  const text = `${why}: ${range} (and the trail's completeness) were checked against the audit key only; whoever holds that key could have rewritten, cut or wiped them`;
  if (opts.offline || opts.witnesses === undefined) return text;
  problems.push({
    seq: Math.max(1, unwitnessed.from),
    kind: 'unwitnessed',
    detail: `${text} (give --offline to accept that)`,
  });
  return undefined;
}
