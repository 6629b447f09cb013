/**
 * Signed statements of the audit trail:
 *
 * - a **checkpoint** is a C2SP tlog-checkpoint signed note (see signed-note.ts): origin
 *   `airlock.audit/<tenant>`, tree size, base64 RFC 6962 root hash of the first `treeSize` entries,
 *   Ed25519 note signature by the audit key under the key name = origin;
 * - a **prune record** signs `{ type: 'airlock-audit-prune', tenant, prunedThroughSeq,
 *   prunedThroughHash, olderThan, time }` (RFC 8785 JSON): "entries up to `prunedThroughSeq` were
 *   deleted on purpose".
 *
 * @example
 * const cp = signCheckpoint(key, { tenant: 'acme', treeSize: 10, rootHash: tree.root(), time: Date.now() });
 * verifyCheckpointSignature(cp, key.publicKey) // true
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../json/canonical-json.js';
import type { AuditSigningKey } from './audit-key.js';
import {
  formatCheckpointBody,
  formatSignedNote,
  parseCheckpointBody,
  parseSignedNote,
  signNote,
  verifyNote,
} from './signed-note.js';

/** The checkpoint origin (and note key name) of a tenant's audit log. */
export function auditOrigin(tenant: string): string {
  return `airlock.audit/${tenant}`;
}

/** A signed checkpoint as the ledger keeps it. */
export interface AuditCheckpoint {
  /** `airlock.audit/<tenant>`. */
  origin: string;
  /** Number of entries covered (the seq of the last one). */
  treeSize: number;
  /** Lowercase hex RFC 6962 root hash of entries 1..treeSize. */
  rootHash: string;
  /** Epoch ms when it was signed (local information, not signed). */
  time: number;
  /** The C2SP signed note (checkpoint text, blank line, signature lines). */
  note: string;
}

/**
 * Signs a checkpoint with the audit key.
 *
 * @example
 * const cp = signCheckpoint(key, { tenant, treeSize: tree.size, rootHash: tree.root(), time: Date.now() });
 */
export function signCheckpoint(
  key: AuditSigningKey,
  cp: { tenant: string; treeSize: number; rootHash: Buffer; time: number },
): AuditCheckpoint {
  const origin = auditOrigin(cp.tenant);
  const text = formatCheckpointBody({ origin, size: cp.treeSize, rootHash: cp.rootHash });
  const signature = signNote(text, { name: origin, publicKey: key.publicKey, privateKey: key.privateKey });
  return {
    origin,
    treeSize: cp.treeSize,
    rootHash: cp.rootHash.toString('hex'),
    time: cp.time,
    note: formatSignedNote({ text, signatures: [signature] }),
  };
}

/**
 * True when the note is a checkpoint signed by `publicKey` under its origin and its fields match
 * `treeSize`/`rootHash`/`origin`.
 */
export function verifyCheckpointSignature(cp: AuditCheckpoint, publicKey: KeyObject): boolean {
  const note = parseSignedNote(cp.note);
  const body = note && parseCheckpointBody(note.text);
  if (!note || !body) return false;
  if (
    body.origin !== cp.origin ||
    body.size !== cp.treeSize ||
    body.rootHash.toString('hex') !== cp.rootHash
  ) {
    return false;
  }
  return verifyNote(note, { name: body.origin, publicKey });
}

/** A checkpoint read from a signed note (no signature check). */
export function checkpointFromNote(note: string, time = 0): AuditCheckpoint | undefined {
  const parsed = parseSignedNote(note);
  const body = parsed && parseCheckpointBody(parsed.text);
  if (!body) return undefined;
  return { origin: body.origin, treeSize: body.size, rootHash: body.rootHash.toString('hex'), time, note };
}

/** What a prune record signs. */
export interface PrunePayloadFields {
  tenant: string;
  prunedThroughSeq: number;
  prunedThroughHash: string;
  olderThan: number;
  time: number;
}

/** The bytes a prune record signature covers. */
export function prunePayload(p: PrunePayloadFields): Buffer {
  return Buffer.from(
    canonicalJson({
      type: 'airlock-audit-prune',
      tenant: p.tenant,
      prunedThroughSeq: p.prunedThroughSeq,
      prunedThroughHash: p.prunedThroughHash,
      olderThan: p.olderThan,
      time: p.time,
    }),
    'utf8',
  );
}

/** Signs a prune record; returns the base64url signature. */
export function signPrune(key: AuditSigningKey, p: PrunePayloadFields): string {
  return sign(null, prunePayload(p), key.privateKey).toString('base64url');
}

/** True when `signature` is a valid signature of the prune record by `publicKey`. */
export function verifyPruneSignature(
  p: PrunePayloadFields,
  signature: string,
  publicKey: KeyObject,
): boolean {
  return verifySignature(prunePayload(p), signature, publicKey);
}

function verifySignature(payload: Buffer, signature: unknown, publicKey: KeyObject): boolean {
  if (typeof signature !== 'string' || signature.length === 0) return false;
  try {
    return verify(null, payload, publicKey, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

const checkpointSchema = z.object({
  origin: z.string().min(1).max(300),
  treeSize: z.number().int().min(1),
  rootHash: z.string().regex(/^[0-9a-f]{64}$/),
  time: z.number().int().min(0),
  note: z.string().max(20_000),
});

/**
 * Validates untrusted input as a checkpoint (shape only, not the signature); `undefined` when it is not one.
 *
 * @example
 * const cp = parseCheckpoint(JSON.parse(row.checkpoint));
 * if (!cp || !verifyCheckpointSignature(cp, key)) refuse();
 */
export function parseCheckpoint(value: unknown): AuditCheckpoint | undefined {
  const parsed = checkpointSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
