/**
 * The building blocks on their own: the RFC 6962 tree after a pruned prefix (frontier only), and
 * C2SP signed notes, cosignatures and verifier keys (including key material with '+' in base64).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import {
  leafHash,
  MerkleRangeError,
  MerkleTree,
  verifyConsistency,
  verifyInclusion,
} from '../../src/audit/merkle-tree.js';
import {
  cosign,
  formatCheckpointBody,
  formatSignatureLine,
  formatSignedNote,
  formatVkey,
  NOTE_SIG_TYPE_COSIGNATURE_V1,
  parseSignedNote,
  parseVkey,
  signNote,
  verifyCosignature,
  verifyNote,
} from '../../src/audit/signed-note.js';

const leaves = Array.from({ length: 37 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));

test('a tree after a pruned prefix keeps roots and proofs of the kept leaves', () => {
  const full = new MerkleTree();
  for (const h of leaves) full.append(h);
  for (const cut of [1, 5, 8, 13, 16, 30]) {
    const pruned = MerkleTree.afterPrefix(full.frontier(cut));
    for (const h of leaves.slice(cut)) pruned.append(h);
    assert.deepEqual(pruned.root(), full.root(), `cut ${cut}`);
    for (let i = cut; i < leaves.length; i++) {
      const proof = pruned.inclusionProof(i);
      assert.deepEqual(proof, full.inclusionProof(i));
      assert.equal(
        verifyInclusion({ leafHash: leaves[i] as Buffer, index: i, size: 37, proof, root: full.root() }),
        true,
      );
    }
    const proof = pruned.consistencyProof(cut + 1, 37);
    assert.equal(
      verifyConsistency({
        oldSize: cut + 1,
        newSize: 37,
        proof,
        oldRoot: full.root(cut + 1),
        newRoot: full.root(),
      }),
      true,
    );
    if (cut > 1) assert.throws(() => pruned.inclusionProof(0), MerkleRangeError);
  }
});

test('signed notes, cosignatures and vkeys round-trip; tampering is refused', () => {
  const log = generateAuditKey();
  const text = formatCheckpointBody({ origin: 'airlock.audit/acme', size: 3, rootHash: Buffer.alloc(32, 5) });
  const signer = { name: 'airlock.audit/acme', publicKey: log.publicKey, privateKey: log.privateKey };
  const note = parseSignedNote(formatSignedNote({ text, signatures: [signNote(text, signer)] }));
  assert.ok(note && verifyNote(note, signer));
  assert.equal(verifyNote({ ...note, text: text.replace('\n3\n', '\n4\n') }, signer), false);
  assert.equal(verifyNote(note, { name: 'other', publicKey: log.publicKey }), false);
  const w = generateAuditKey();
  const witness = { name: 'witness.example/w1', publicKey: w.publicKey, privateKey: w.privateKey };
  const cosigned = parseSignedNote(
    `${formatSignedNote(note)}${formatSignatureLine(cosign(text, witness, 1_700_000_000))}`,
  );
  assert.ok(cosigned);
  assert.equal(verifyCosignature(cosigned, witness), 1_700_000_000);
  assert.equal(verifyCosignature(note, witness), undefined);
  assert.equal(parseSignedNote('no blank line\n'), undefined);
  assert.equal(parseSignedNote(`${text}\n— bad\n`), undefined);
  for (let i = 0; i < 40; i++) {
    const k = generateAuditKey();
    const vkey = formatVkey({ name: 'w.example/x', publicKey: k.publicKey }, NOTE_SIG_TYPE_COSIGNATURE_V1);
    const parsed = parseVkey(vkey);
    assert.ok(parsed, vkey);
    assert.equal(parsed.type, NOTE_SIG_TYPE_COSIGNATURE_V1);
  }
  const good = formatVkey(witness, NOTE_SIG_TYPE_COSIGNATURE_V1);
  assert.equal(
    parseVkey(good.replace(/\+[0-9a-f]{8}\+/, '+00000000+')),
    undefined,
    'a wrong key id is refused',
  );
});
