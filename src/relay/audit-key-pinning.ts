/**
 * Which audit keys the relay's witness trusts for a tenant: only keys certified by the tenant's CA
 * (the connector's tenant PKI, `<dataDir>/tenant/ca.pem`) pinned at the relay — the same pin as
 * connector binding (`store.relay.getTenantCaPin`, set by the tenant's first bound connector, see
 * connector-binding.ts, or ahead by the operator with `pinTenantAuditCa`). An enrolled connector
 * alone cannot register a key: it must prove the pinned tenant CA signed
 * `airlock-audit-key/v1\n<tenant>\n<key id>\n` (src/audit/audit-key-proof.ts). Without a pin the
 * registration is refused unless `allowFirstUse` (then this registration pins the CA, first writer wins).
 *
 * Trusted keys live in the witness key table as `pinned:<key id>` (rows of older versions, written
 * without proof, are ignored).
 *
 * @example
 * await pinTenantAuditCa(store, 'acme', await readFile('tenant-ca.pem', 'utf8'));
 * const keys = await trustedAuditKeys(store, 'acme');
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { auditKeyId, auditPublicKeyFromPem } from '../audit/audit-key.js';
import { verifyAuditKeyProof } from '../audit/audit-key-proof.js';
import { AirlockError } from '../errors/airlock-error.js';
import type { Store } from '../store/store.js';

const PINNED_PREFIX = 'pinned:';

/** Refusals of key registration (HTTP 403 / 400). */
export const AuditPinCodes = {
  CA_MISMATCH: 'AIRLOCK_AUDIT_PIN_CA_MISMATCH',
  NOT_PINNED: 'AIRLOCK_AUDIT_PIN_CA_NOT_PINNED',
  BAD_PROOF: 'AIRLOCK_AUDIT_PIN_BAD_PROOF',
  INVALID: 'AIRLOCK_AUDIT_PIN_INVALID',
} as const;

export class AuditPinError extends AirlockError {}

/** Body of `POST /v1/audit/key`. */
export const pinnedAuditKeyRequestSchema = z.strictObject({
  publicKeyPem: z.string().min(1).max(4096),
  tenantCaPem: z.string().min(1).max(16_384),
  /** base64 signature by the tenant CA key over `auditKeyProofPayload(tenant, keyId)` (src/audit/audit-key-proof.ts). */
  proof: z.string().min(1).max(1024),
});
export type PinnedAuditKeyRequest = z.infer<typeof pinnedAuditKeyRequestSchema>;

function caKey(certPem: string): KeyObject {
  try {
    return new X509Certificate(certPem).publicKey;
  } catch (cause) {
    throw new AuditPinError(AuditPinCodes.INVALID, 'the tenant CA is not a PEM certificate', { cause });
  }
}

function sameCert(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).fingerprint256 === new X509Certificate(b).fingerprint256;
  } catch {
    return false;
  }
}

/** The pinned CA certificate of a tenant, if any. */
export async function pinnedTenantCa(
  store: Pick<Store, 'relay'>,
  tenant: string,
): Promise<string | undefined> {
  return (await store.relay.getTenantCaPin(tenant))?.caCertPem;
}

/** Pins a tenant's CA (idempotent); throws `AIRLOCK_AUDIT_PIN_CA_MISMATCH` when another is pinned. */
export async function pinTenantAuditCa(
  store: Pick<Store, 'relay'>,
  tenant: string,
  caCertPem: string,
  now = Date.now(),
): Promise<void> {
  caKey(caCertPem);
  const caFingerprint = new X509Certificate(caCertPem).fingerprint256.replaceAll(':', '').toLowerCase();
  const inForce = await store.relay.pinTenantCa({ tenant, caCertPem, caFingerprint, pinnedAt: now });
  if (inForce.caFingerprint !== caFingerprint) {
    throw new AuditPinError(AuditPinCodes.CA_MISMATCH, `another CA is already pinned for tenant ${tenant}`);
  }
}

/**
 * Registers an audit key certified by the tenant's pinned CA. Throws `AuditPinError`.
 *
 * @example
 * const { keyId } = await registerPinnedAuditKey(store, auth.tenant, body, { allowFirstUse: true });
 */
export async function registerPinnedAuditKey(
  store: Pick<Store, 'audit' | 'relay'>,
  tenant: string,
  req: PinnedAuditKeyRequest,
  opts: { allowFirstUse?: boolean; now?: number } = {},
): Promise<{ keyId: string }> {
  let publicKey: KeyObject;
  try {
    publicKey = auditPublicKeyFromPem(req.publicKeyPem);
  } catch (cause) {
    throw new AuditPinError(AuditPinCodes.INVALID, (cause as Error).message, { cause });
  }
  const keyId = auditKeyId(publicKey);
  const pinned = await pinnedTenantCa(store, tenant);
  if (!pinned && opts.allowFirstUse === false) {
    throw new AuditPinError(AuditPinCodes.NOT_PINNED, `no tenant CA is pinned for ${tenant} at the relay`);
  }
  if (pinned && !sameCert(pinned, req.tenantCaPem)) {
    throw new AuditPinError(
      AuditPinCodes.CA_MISMATCH,
      `the audit key is not certified by the CA pinned for ${tenant}`,
    );
  }
  caKey(pinned ?? req.tenantCaPem);
  if (!verifyAuditKeyProof(pinned ?? req.tenantCaPem, tenant, keyId, req.proof))
    throw new AuditPinError(AuditPinCodes.BAD_PROOF, 'the tenant CA did not sign this audit key');
  const now = opts.now ?? Date.now();
  if (!pinned) await pinTenantAuditCa(store, tenant, req.tenantCaPem, now);
  await store.audit.registerWitnessKey({
    tenant,
    keyId: `${PINNED_PREFIX}${keyId}`,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    registeredAt: now,
  });
  return { keyId };
}

/** Audit keys the witness trusts for a tenant (registered with a tenant CA proof). */
export async function trustedAuditKeys(store: Pick<Store, 'audit'>, tenant: string): Promise<KeyObject[]> {
  const rows = await store.audit.listWitnessKeys(tenant);
  const out: KeyObject[] = [];
  for (const row of rows) {
    if (!row.keyId.startsWith(PINNED_PREFIX)) continue;
    try {
      out.push(auditPublicKeyFromPem(row.publicKeyPem));
    } catch {
      // a corrupted row trusts nothing
    }
  }
  return out;
}
