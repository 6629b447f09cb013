/**
 * One pass over a trail's entries, oldest first, for `verifyAuditTrail`: every entry's hash, the
 * `prevHash` links, `seq` continuity (telling deletions from reorderings by looking ahead), signed
 * prune records, and each entry's Merkle leaf hash. It stops at the first problem.
 *
 * @example
 * const walk = await walkAuditChain(entries, key, 64);
 * if (walk.problem) console.error(walk.problem.detail);
 */
import type { KeyObject } from 'node:crypto';
import { type AuditEntry, entryHash, entryLeafHash, GENESIS_HASH } from './audit-entry.js';
import { verifyPruneSignature } from './audit-signing.js';

export type AuditProblemKind =
  | 'modified'
  | 'missing'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'bad-signature'
  | 'unwitnessed';

export interface AuditProblem {
  /** The first entry affected (for checkpoints: their tree size). */
  seq: number;
  kind: AuditProblemKind;
  detail: string;
}

type EntryLike = Record<string, unknown> & { seq: number; hash: string; prevHash: string };
type Parsed = { ok: true; entry: EntryLike } | { ok: false; reason: string };

export interface ChainWalk {
  count: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  headHash: string | undefined;
  /** Leaf hashes of the entries read, in order (entry `firstSeq` first). */
  leaves: Buffer[];
  /** The frontier (hex) of the pruned prefix `1..firstSeq-1`, from the prune record that accounts for it. */
  prefixFrontier: string[] | undefined;
  /** Entries before `firstSeq` accounted for by a signed prune record. */
  pruned: number;
  problem: AuditProblem | undefined;
}

interface WalkState {
  prev: { seq: number; hash: string } | undefined;
  prevPrevHash: string | undefined;
  first: { seq: number; prevHash: string } | undefined;
  prunedBelow: number;
  walk: ChainWalk;
}

/** See the module comment. */
export async function walkAuditChain(
  entries: AsyncIterable<AuditEntry | string> | Iterable<AuditEntry | string>,
  key: KeyObject,
  lookahead: number,
): Promise<ChainWalk> {
  const walk: ChainWalk = {
    count: 0,
    firstSeq: undefined,
    lastSeq: undefined,
    headHash: undefined,
    leaves: [],
    prefixFrontier: undefined,
    pruned: 0,
    problem: undefined,
  };
  const st: WalkState = { prev: undefined, prevPrevHash: undefined, first: undefined, prunedBelow: 0, walk };
  const it = new Lookahead(entries, lookahead);
  try {
    for (;;) {
      const item = await it.next();
      if (!item) break;
      walk.problem = await step(st, item, it, key);
      if (walk.problem) break;
    }
  } finally {
    await it.close();
  }
  if (!walk.problem && st.first && st.first.seq > 1 && walk.prefixFrontier === undefined) {
    const from = st.prunedBelow + 1;
    walk.problem = {
      seq: from,
      kind: 'missing',
      detail: `entries ${from}..${st.first.seq - 1} are missing and no signed prune record accounts for them`,
    };
  }
  walk.firstSeq = st.first?.seq;
  walk.lastSeq = st.prev?.seq;
  walk.headHash = st.prev?.hash;
  walk.pruned = walk.prefixFrontier !== undefined && st.first ? st.first.seq - 1 : 0;
  return walk;
}

async function step(
  st: WalkState,
  item: Parsed,
  it: Lookahead,
  key: KeyObject,
): Promise<AuditProblem | undefined> {
  const expected = (st.prev?.seq ?? 0) + 1;
  if (!item.ok) {
    return {
      seq: expected,
      kind: 'modified',
      detail: `entry after seq ${expected - 1} is unreadable: ${item.reason}`,
    };
  }
  const e = item.entry;
  const order = await orderProblem(st, e, expected, it);
  if (order) return order;
  st.walk.count += 1;
  if (entryHash(e) !== e.hash) {
    return {
      seq: e.seq,
      kind: 'modified',
      detail: `entry ${e.seq} does not match its hash: its content was changed`,
    };
  }
  if (st.prev && e.prevHash !== st.prev.hash) {
    return st.prevPrevHash !== undefined && e.prevHash === st.prevPrevHash
      ? {
          seq: st.prev.seq,
          kind: 'inserted',
          detail: `entry ${st.prev.seq} is not part of the chain: entry ${e.seq} links to the entry before it`,
        }
      : {
          seq: st.prev.seq,
          kind: 'modified',
          detail: `entry ${st.prev.seq} was rewritten: entry ${e.seq} was chained to a different version of it`,
        };
  }
  if (e.kind === 'prune') {
    const problem = checkPrune(st, e, key);
    if (problem) return problem;
  }
  st.walk.leaves.push(entryLeafHash(e));
  st.prevPrevHash = st.prev?.hash;
  st.prev = { seq: e.seq, hash: e.hash };
  return undefined;
}

async function orderProblem(
  st: WalkState,
  e: EntryLike,
  expected: number,
  it: Lookahead,
): Promise<AuditProblem | undefined> {
  if (!st.prev) {
    st.first = { seq: e.seq, prevHash: e.prevHash };
    if (e.seq === 1 && e.prevHash !== GENESIS_HASH) {
      return {
        seq: 1,
        kind: 'modified',
        detail: 'entry 1 does not start the chain (prevHash is not the genesis hash)',
      };
    }
    return undefined;
  }
  if (e.seq === st.prev.seq) {
    return { seq: e.seq, kind: 'inserted', detail: `two entries claim seq ${e.seq}: an entry was inserted` };
  }
  if (e.seq < st.prev.seq) {
    return { seq: e.seq, kind: 'reordered', detail: `entry ${e.seq} appears after entry ${st.prev.seq}` };
  }
  if (e.seq > expected) {
    const later = await it.find((x) => x.ok && x.entry.seq === expected);
    if (later)
      return { seq: expected, kind: 'reordered', detail: `entry ${expected} appears after entry ${e.seq}` };
    const which =
      e.seq - 1 === expected
        ? `entry ${expected} is missing`
        : `entries ${expected}..${e.seq - 1} are missing`;
    return { seq: expected, kind: 'missing', detail: which };
  }
  return undefined;
}

function checkPrune(st: WalkState, e: EntryLike, key: KeyObject): AuditProblem | undefined {
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
    return {
      seq: e.seq,
      kind: 'bad-signature',
      detail: `prune record ${e.seq} is not signed by the audit key`,
    };
  }
  const first = st.first;
  const frontier = Array.isArray(e.frontier) ? e.frontier.map(String) : undefined;
  if (
    first &&
    first.seq > 1 &&
    e.prunedThroughSeq === first.seq - 1 &&
    e.prunedThroughHash === first.prevHash &&
    frontier
  ) {
    st.walk.prefixFrontier = frontier;
  } else if (first && typeof e.prunedThroughSeq === 'number' && e.prunedThroughSeq < first.seq) {
    st.prunedBelow = Math.max(st.prunedBelow, e.prunedThroughSeq);
  }
  return undefined;
}

/** Parses entries and lets the walker peek ahead a bounded distance. */
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
