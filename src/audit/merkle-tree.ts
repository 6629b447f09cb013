/**
 * RFC 6962 (RFC 9162 §2.1) Merkle tree over audit entries: leaf hash `SHA-256(0x00 || leaf)`, node
 * hash `SHA-256(0x01 || left || right)`, the empty tree's root `SHA-256("")`. It computes roots,
 * inclusion proofs (audit paths) and consistency proofs, and verifies both.
 *
 * Leaf hashes are kept in one growing buffer (32 bytes each); hashes of complete subtrees of
 * `DEFAULT_MERKLE_CACHE_LEAVES` leaves or more are cached (they never change), so a root or a proof
 * costs O(log² n) hashes once warm. A tree may start after a pruned prefix: `MerkleTree.afterPrefix`
 * takes the prefix's compact range (the roots of its maximal complete subtrees, `frontier()`), which
 * is all later roots and proofs need (proofs that reach inside the prefix throw).
 *
 * @example
 * const tree = new MerkleTree();
 * tree.append(leafHash(Buffer.from('entry 1')));
 * const root = tree.root();
 * const proof = tree.inclusionProof(0, tree.size);
 * verifyInclusion({ leafHash: leafHash(Buffer.from('entry 1')), index: 0, size: 1, proof, root }); // true
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

/** Complete subtrees of at least this many leaves have their hash cached. */
export const DEFAULT_MERKLE_CACHE_LEAVES = 16;
/** Length of every hash. */
export const MERKLE_HASH_BYTES = 32;

/** Thrown when a proof needs leaves that were pruned. */
export class MerkleRangeError extends Error {}

const LEAF_PREFIX = Buffer.of(0);
const NODE_PREFIX = Buffer.of(1);

/** `SHA-256(0x00 || data)`. */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/**
 * `leafHash` of a text's UTF-8 bytes, without copying them into a buffer first.
 *
 * @example
 * leafHashOfText('{"a":1}').equals(leafHash(Buffer.from('{"a":1}'))) // true
 */
export function leafHashOfText(text: string): Buffer {
  return oneShotHash('sha256', `\u0000${text}`, 'buffer'); // UTF-8 of U+0000 is the 0x00 prefix byte
}

/** `SHA-256(0x01 || left || right)`. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Root of the empty tree: `SHA-256("")`. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/** Largest power of two strictly smaller than `n` (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPow2(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

/** One maximal complete subtree of a prefix: leaves `[start, start + size)` hash to `hash`. */
export interface FrontierNode {
  start: number;
  size: number;
  hash: Buffer;
}

export class MerkleTree {
  #leaves = Buffer.alloc(MERKLE_HASH_BYTES * 1024);
  #size = 0;
  /** Leaves before this index are not held (pruned); only frontier nodes stand for them. */
  readonly prunedBelow: number;
  readonly #cache = new Map<string, Buffer>();
  readonly #cacheLeaves: number;

  constructor(opts: { cacheLeaves?: number } = {}) {
    this.#cacheLeaves = Math.max(2, opts.cacheLeaves ?? DEFAULT_MERKLE_CACHE_LEAVES);
    this.prunedBelow = 0;
  }

  /**
   * A tree whose first `size` leaves are gone, known by their frontier (see `frontier()`).
   *
   * @example
   * const tree = MerkleTree.afterPrefix(old.frontier(100));
   */
  static afterPrefix(frontier: FrontierNode[], opts: { cacheLeaves?: number } = {}): MerkleTree {
    const tree = new MerkleTree(opts);
    let size = 0;
    for (const node of frontier) {
      if (node.start !== size || !isPow2(node.size)) throw new MerkleRangeError('not a frontier');
      tree.#cache.set(`${node.start}:${node.size}`, Buffer.from(node.hash));
      size += node.size;
    }
    (tree as { prunedBelow: number }).prunedBelow = size;
    tree.#size = size;
    tree.#ensure(size);
    return tree;
  }

  get size(): number {
    return this.#size;
  }

  /** Appends one leaf hash (32 bytes, see `leafHash`). */
  append(hash: Uint8Array): void {
    if (hash.length !== MERKLE_HASH_BYTES) throw new MerkleRangeError('a leaf hash has 32 bytes');
    this.#ensure(this.#size + 1);
    this.#leaves.set(hash, this.#size * MERKLE_HASH_BYTES);
    this.#size += 1;
  }

  /** Drops leaves from `size` on (a commit that did not happen). */
  truncate(size: number): void {
    if (size < this.prunedBelow || size > this.#size) throw new MerkleRangeError('bad size');
    for (const key of [...this.#cache.keys()]) {
      const [start, n] = key.split(':').map(Number) as [number, number];
      if (start + n > size) this.#cache.delete(key);
    }
    this.#size = size;
  }

  /** The leaf hash at `index`. */
  leaf(index: number): Buffer {
    if (index < this.prunedBelow || index >= this.#size) throw new MerkleRangeError(`no leaf ${index}`);
    const at = index * MERKLE_HASH_BYTES;
    return Buffer.from(this.#leaves.subarray(at, at + MERKLE_HASH_BYTES));
  }

  /** Root hash of the first `size` leaves (default: all). */
  root(size = this.#size): Buffer {
    this.#check(size);
    return size === 0 ? emptyRoot() : this.#mth(0, size);
  }

  /** RFC 6962 audit path of leaf `index` in the tree of `size` leaves, bottom up. */
  inclusionProof(index: number, size = this.#size): Buffer[] {
    this.#check(size);
    if (index < 0 || index >= size) throw new MerkleRangeError(`leaf ${index} is not in a tree of ${size}`);
    const out: Buffer[] = [];
    let start = 0;
    let n = size;
    let m = index;
    const stack: Buffer[] = [];
    while (n > 1) {
      const k = split(n);
      if (m < k) {
        stack.push(this.#mth(start + k, start + n));
        n = k;
      } else {
        stack.push(this.#mth(start, start + k));
        start += k;
        m -= k;
        n -= k;
      }
    }
    while (stack.length > 0) out.push(stack.pop() as Buffer);
    return out;
  }

  /** RFC 6962 consistency proof from the tree of `oldSize` leaves to the tree of `newSize`. */
  consistencyProof(oldSize: number, newSize = this.#size): Buffer[] {
    this.#check(newSize);
    if (oldSize < 0 || oldSize > newSize) throw new MerkleRangeError(`bad sizes ${oldSize} > ${newSize}`);
    if (oldSize === 0 || oldSize === newSize) return [];
    const stack: Buffer[] = [];
    let start = 0;
    let n = newSize;
    let m = oldSize;
    let complete = true;
    for (;;) {
      if (m === n) {
        if (!complete) stack.push(this.#mth(start, start + n));
        break;
      }
      const k = split(n);
      if (m <= k) {
        stack.push(this.#mth(start + k, start + n));
        n = k;
      } else {
        stack.push(this.#mth(start, start + k));
        start += k;
        m -= k;
        n -= k;
        complete = false;
      }
    }
    return stack.reverse();
  }

  /** The compact range of the first `size` leaves: roots of its maximal complete subtrees. */
  frontier(size = this.#size): FrontierNode[] {
    this.#check(size);
    const out: FrontierNode[] = [];
    let start = 0;
    let rest = size;
    while (rest > 0) {
      let k = 1;
      while (k * 2 <= rest) k *= 2;
      out.push({ start, size: k, hash: this.#mth(start, start + k) });
      start += k;
      rest -= k;
    }
    return out;
  }

  #check(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.#size) {
      throw new MerkleRangeError(`the tree has ${this.#size} leaves, not ${size}`);
    }
  }

  #ensure(count: number): void {
    const need = count * MERKLE_HASH_BYTES;
    if (need <= this.#leaves.length) return;
    const grown = Buffer.alloc(Math.max(need, this.#leaves.length * 2));
    this.#leaves.copy(grown, 0, 0, this.#size * MERKLE_HASH_BYTES);
    this.#leaves = grown;
  }

  /** MTH of leaves [start, end). */
  #mth(start: number, end: number): Buffer {
    const n = end - start;
    const complete = isPow2(n) && start % n === 0;
    if (complete) {
      const cached = this.#cache.get(`${start}:${n}`);
      if (cached) return cached;
    }
    if (start < this.prunedBelow && (n === 1 || (complete && end <= this.prunedBelow))) {
      throw new MerkleRangeError(`leaves ${start}..${end - 1} were pruned`);
    }
    let hash: Buffer;
    if (n === 1) hash = this.leaf(start);
    else {
      const k = split(n);
      hash = nodeHash(this.#mth(start, start + k), this.#mth(start + k, end));
    }
    if (complete && n >= this.#cacheLeaves) this.#cache.set(`${start}:${n}`, hash);
    return hash;
  }
}

/**
 * Verifies an RFC 6962 inclusion proof (RFC 9162 §2.1.3.2).
 *
 * @example
 * verifyInclusion({ leafHash: h, index: 4, size: 7, proof, root }) // true or false
 */
export function verifyInclusion(o: {
  leafHash: Uint8Array;
  index: number;
  size: number;
  proof: readonly Uint8Array[];
  root: Uint8Array;
}): boolean {
  if (o.index < 0 || o.index >= o.size) return false;
  let fn = o.index;
  let sn = o.size - 1;
  let r: Uint8Array = o.leafHash;
  for (const p of o.proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(o.root));
}

/**
 * Verifies an RFC 6962 consistency proof from `oldSize`/`oldRoot` to `newSize`/`newRoot`
 * (RFC 9162 §2.1.4.2). From size 0 only an empty proof is accepted.
 *
 * @example
 * verifyConsistency({ oldSize: 3, newSize: 7, proof, oldRoot, newRoot }) // true or false
 */
export function verifyConsistency(o: {
  oldSize: number;
  newSize: number;
  proof: readonly Uint8Array[];
  oldRoot: Uint8Array;
  newRoot: Uint8Array;
}): boolean {
  const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  if (o.oldSize < 0 || o.oldSize > o.newSize) return false;
  if (o.oldSize === 0) return o.proof.length === 0;
  if (o.oldSize === o.newSize) return o.proof.length === 0 && eq(o.oldRoot, o.newRoot);
  const path = isPow2(o.oldSize) ? [o.oldRoot, ...o.proof] : [...o.proof];
  if (path.length === 0) return false;
  let fn = o.oldSize - 1;
  let sn = o.newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && eq(fr, o.oldRoot) && eq(sr, o.newRoot);
}
