/**
 * Seals vault values with AES-256-GCM: a fresh 96-bit IV per value, and the tenant and token as
 * associated data, so a sealed value copied to another row or another tenant no longer opens.
 * Format: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 *
 * @example
 * const sealed = sealValue(keys.vaultKey, 'anna@example.com', 'acme\u0000[[EMAIL:7f3a9c21]]');
 * openValue(keys.vaultKey, sealed, 'acme\u0000[[EMAIL:7f3a9c21]]') // 'anna@example.com'
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PII_ERROR_CODES, PiiError } from './pii-errors.js';

const IV_BYTES = 12;

export function sealValue(key: Uint8Array, plaintext: string, associatedData: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return ['v1', iv, ciphertext, tag]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** Opens a sealed value; throws `PiiError` `AIRLOCK_PII_VAULT_DECRYPT` on a wrong key, AAD or a tampered value. */
export function openValue(key: Uint8Array, sealed: string, associatedData: string): string {
  const [version, iv, ciphertext, tag] = sealed.split('.');
  if (version !== 'v1' || iv === undefined || ciphertext === undefined || tag === undefined) {
    throw new PiiError(PII_ERROR_CODES.vaultDecrypt, 'vault value has an unknown format');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch (cause) {
    throw new PiiError(PII_ERROR_CODES.vaultDecrypt, 'vault value does not decrypt under this tenant key', {
      cause,
    });
  }
}
