/**
 * The tenant CA's certification of an audit key: the CA key signs
 * `airlock-audit-key/v1\n<tenant>\n<key id>\n`. The relay's witness trusts an audit key only with
 * this proof by the CA pinned for the tenant (src/relay/audit-key-pinning.ts).
 *
 * @example
 * const proof = signAuditKeyProof(caKeyPem, 'acme', key.keyId);
 * verifyAuditKeyProof(caCertPem, 'acme', key.keyId, proof) // true
 */
import { createPublicKey, type KeyObject, sign, verify, X509Certificate } from 'node:crypto';

/** The bytes the tenant CA signs to certify an audit key. */
export function auditKeyProofPayload(tenant: string, keyId: string): Buffer {
  return Buffer.from(`airlock-audit-key/v1\n${tenant}\n${keyId}\n`, 'utf8');
}

function algorithmFor(key: KeyObject): null | 'sha256' {
  return key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
}

/** Signs the proof with the tenant CA's private key (PEM); base64. */
export function signAuditKeyProof(caKeyPem: string, tenant: string, keyId: string): string {
  return sign(
    algorithmFor(createPublicKey(caKeyPem)),
    auditKeyProofPayload(tenant, keyId),
    caKeyPem,
  ).toString('base64');
}

/** True when `proof` is the CA certificate's key's signature over the key id. */
export function verifyAuditKeyProof(
  caCertPem: string,
  tenant: string,
  keyId: string,
  proof: string,
): boolean {
  try {
    const key = new X509Certificate(caCertPem).publicKey;
    return verify(algorithmFor(key), auditKeyProofPayload(tenant, keyId), key, Buffer.from(proof, 'base64'));
  } catch {
    return false;
  }
}
