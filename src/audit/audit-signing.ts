/**
 * Signed statements of the audit trail, Ed25519 over RFC 8785 canonical JSON:
 *
 * - a **checkpoint** signs `{ treeSize, headHash, time, tenant }`: "the first `treeSize` entries of
 *   tenant's trail end in the entry whose hash is `headHash`";
 * - a **prune record** signs `{ type: 'airlock-audit-prune', tenant, prunedThroughSeq,
 *   prunedThroughHash, olderThan, time }`: "entries up to `prunedThroughSeq` were deleted on purpose".
 *
 * The two payloads have different key sets, so one can never pass for the other.
 *
 * @example
 * const cp = signCheckpoint(key, { tenant: 'acme', treeSize: 10, headHash, time: Date.now() });
 * verifyCheckpointSignature(cp, key.publicKey) // true
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { AuditSigningKey } from './audit-key.js';
import { canonicalJson } from './canonical-json.js';

/** A signed checkpoint. */
export interface AuditCheckpoint {
  tenant: string;
  /** Number of entries covered: the seq of the head entry. */
  treeSize: number;
  /** `hash` of entry `treeSize`. */
  headHash: string;
  /** Epoch milliseconds. */
  time: number;
  /** Key id (hex SHA-256 of SPKI DER) of the signing key; a hint, not signed. */
  keyId: string;
  /** Ed25519 signature, base64url. */
  signature: string;
}

/** The bytes a checkpoint signature covers. */
export function checkpointPayload(
  cp: Pick<AuditCheckpoint, 'treeSize' | 'headHash' | 'time' | 'tenant'>,
): Buffer {
  return Buffer.from(
    canonicalJson({ treeSize: cp.treeSize, headHash: cp.headHash, time: cp.time, tenant: cp.tenant }),
    'utf8',
  );
}

/**
 * Signs a checkpoint with the audit key.
 *
 * @example
 * const cp = signCheckpoint(key, { tenant, treeSize: head.seq, headHash: head.hash, time: Date.now() });
 */
export function signCheckpoint(
  key: AuditSigningKey,
  cp: Pick<AuditCheckpoint, 'treeSize' | 'headHash' | 'time' | 'tenant'>,
): AuditCheckpoint {
  const signature = sign(null, checkpointPayload(cp), key.privateKey).toString('base64url');
  return {
    tenant: cp.tenant,
    treeSize: cp.treeSize,
    headHash: cp.headHash,
    time: cp.time,
    keyId: key.keyId,
    signature,
  };
}

/** True when `cp.signature` is a valid Ed25519 signature by `publicKey` over its payload. */
export function verifyCheckpointSignature(cp: AuditCheckpoint, publicKey: KeyObject): boolean {
  return verifySignature(checkpointPayload(cp), cp.signature, publicKey);
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
  tenant: z.string().min(1).max(253),
  treeSize: z.number().int().min(1),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  time: z.number().int().min(0),
  keyId: z.string().max(128),
  signature: z.string().max(256),
});

/**
 * Validates untrusted input as a checkpoint (shape only, not the signature); `undefined` when it is not one.
 *
 * @example
 * const cp = parseCheckpoint(JSON.parse(body));
 * if (!cp || !verifyCheckpointSignature(cp, key)) refuse();
 */
export function parseCheckpoint(value: unknown): AuditCheckpoint | undefined {
  const parsed = checkpointSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
