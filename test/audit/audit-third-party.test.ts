/**
 * An independent implementation checks our format: sigstore's verifier (`@sigstore/verify`, the
 * checkpoint and Merkle inclusion code it uses for Rekor) verifies our C2SP checkpoints (signed-note
 * parsing, key hint, Ed25519 signature) and our RFC 6962 inclusion proofs, and refuses tampered ones.
 * No maintained npm library exposes RFC 6962 consistency-proof verification (sigstore does not), so
 * consistency proofs are checked by recomputing both roots from the leaves, independently of the
 * proof code: every proof between every pair of sizes must verify, and a proof from a forked tree must not.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TLogEntryWithInclusionProof } from '@sigstore/bundle';
import { verifyCheckpoint } from '@sigstore/verify/dist/tlog/checkpoint.js';
import { verifyMerkleInclusion } from '@sigstore/verify/dist/tlog/merkle.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { auditOrigin, signCheckpoint } from '../../src/audit/audit-signing.js';
import { leafHash, MerkleTree, nodeHash, verifyConsistency } from '../../src/audit/merkle-tree.js';
import { ed25519Raw } from '../../src/audit/signed-note.js';
import { storedAuditEntries } from '../../src/audit/stored-trail.js';
import { canonicalJson } from '../../src/json/canonical-json.js';
import type { Store } from '../../src/store/store.js';
import { adminEvent, requestEvent, sqliteBackend, TENANT, type TestBackend } from './audit-fixture.js';

const key = generateAuditKey();
const origin = auditOrigin(TENANT);

/** sigstore's view of our log: key hint = SHA-256(name || "\n" || 0x01 || key)[:4] (C2SP signed-note). */
const tlog = {
  logID: createHash('sha256')
    .update(`${origin}\n`)
    .update(Buffer.of(1))
    .update(ed25519Raw(key.publicKey))
    .digest(),
  baseURL: `https://${origin}`,
  publicKey: key.publicKey,
  validFor: { start: new Date(0), end: new Date(8.64e15) },
};

function sigstoreEntry(
  note: string,
  index: number,
  leaf: Buffer,
  proof: Buffer[],
): TLogEntryWithInclusionProof {
  return {
    logIndex: String(index),
    canonicalizedBody: leaf,
    inclusionProof: {
      logIndex: String(index),
      rootHash: Buffer.alloc(0),
      treeSize: '0',
      hashes: proof,
      checkpoint: { envelope: note },
    },
  } as unknown as TLogEntryWithInclusionProof;
}

/** RFC 6962 MTH straight from the definition (no caching, no proof code). */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

let backend: TestBackend;
let store: Store;
let leaves: Buffer[];
let ledger: AuditLedger;

/** A 21-entry trail (every fourth an admin event) and its leaves as canonical JSON. */
before(async () => {
  backend = await sqliteBackend();
  store = await (await backend.fresh()).open();
  ledger = await AuditLedger.open({
    repository: store.audit,
    tenant: TENANT,
    key,
    checkpointIntervalMs: 0,
  });
  for (let i = 1; i <= 21; i++) await ledger.append(i % 4 === 0 ? adminEvent(i) : requestEvent(i));
  leaves = [];
  for await (const text of storedAuditEntries(store.audit))
    leaves.push(Buffer.from(canonicalJson(JSON.parse(text)), 'utf8'));
});
after(async () => {
  await ledger.close();
  await store.close();
  await backend.cleanup();
});

describe('our checkpoints and proofs, checked by @sigstore/verify', () => {
  test('sigstore verifies the checkpoint note and every inclusion proof', async () => {
    const cp = await ledger.checkpoint();
    assert.ok(cp);
    const parsed = verifyCheckpoint(sigstoreEntry(cp.note, 0, Buffer.alloc(0), []), [tlog]);
    assert.equal(parsed.origin, origin);
    assert.equal(parsed.logSize, 21n);
    assert.equal(parsed.logHash.toString('hex'), cp.rootHash);
    assert.equal(parsed.logHash.toString('hex'), mth(leaves.map((l) => leafHash(l))).toString('hex'));
    for (let i = 0; i < 21; i++) {
      const leaf = leaves[i] as Buffer;
      verifyMerkleInclusion(sigstoreEntry(cp.note, i, leaf, ledger.inclusionProof(i + 1, 21)), parsed);
    }
  });

  test('sigstore refuses a tampered checkpoint, another key, and a proof for a modified entry', async () => {
    const cp = signCheckpoint(key, {
      tenant: TENANT,
      treeSize: 21,
      rootHash: Buffer.from(ledger.stats().rootHash, 'hex'),
      time: 0,
    });
    const resized = cp.note.replace('\n21\n', '\n22\n');
    assert.throws(
      () => verifyCheckpoint(sigstoreEntry(resized, 0, Buffer.alloc(0), []), [tlog]),
      /invalid checkpoint signature/,
    );
    const other = signCheckpoint(generateAuditKey(), {
      tenant: TENANT,
      treeSize: 21,
      rootHash: Buffer.alloc(32),
      time: 0,
    });
    assert.throws(
      () => verifyCheckpoint(sigstoreEntry(other.note, 0, Buffer.alloc(0), []), [tlog]),
      /invalid checkpoint signature/,
    );
    const parsed = verifyCheckpoint(sigstoreEntry(cp.note, 0, Buffer.alloc(0), []), [tlog]);
    const forged = Buffer.from((leaves[6] as Buffer).toString('utf8').replace('"allow"', '"deny"'), 'utf8');
    assert.notDeepEqual(forged, leaves[6]);
    assert.throws(
      () => verifyMerkleInclusion(sigstoreEntry(cp.note, 6, forged, ledger.inclusionProof(7, 21)), parsed),
      /calculated root hash does not match/,
    );
    assert.throws(
      () =>
        verifyMerkleInclusion(
          sigstoreEntry(cp.note, 7, leaves[6] as Buffer, ledger.inclusionProof(7, 21)),
          parsed,
        ),
      /does not match|invalid/,
    );
  });
});

describe('our consistency proofs, checked against the RFC 6962 definition', () => {
  test('consistency proofs between every pair of sizes match roots computed from the definition', () => {
    const hashes = leaves.map((l) => leafHash(l));
    const tree = new MerkleTree({ cacheLeaves: 2 });
    for (const h of hashes) tree.append(h);
    for (let n = 1; n <= hashes.length; n++) {
      const newRoot = mth(hashes.slice(0, n));
      assert.deepEqual(tree.root(n), newRoot);
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        const oldRoot = mth(hashes.slice(0, m));
        assert.equal(
          verifyConsistency({ oldSize: m, newSize: n, proof, oldRoot, newRoot }),
          true,
          `${m} -> ${n}`,
        );
        if (m < n) {
          const forkedOld = mth([...hashes.slice(0, m - 1), leafHash(Buffer.from('forged'))]);
          assert.equal(
            verifyConsistency({ oldSize: m, newSize: n, proof, oldRoot: forkedOld, newRoot }),
            false,
          );
        }
      }
    }
  });
});
