/**
 * The connector's Ed25519 audit key. It signs checkpoints and prune records; its public key is what
 * auditors and the relay's witness verify against. It is generated on the connector, in its data
 * directory, and never leaves it: `<dataDir>/audit/audit-key.pem` (PKCS#8, mode 0600) next to
 * `audit-key.pub.pem` (SPKI, the part to hand out).
 *
 * @example
 * const key = await loadOrCreateAuditKey('/var/lib/airlock');
 * console.log(key.keyId, key.publicKeyPem);
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';

/** A loaded audit signing key. */
export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key. */
  publicKeyPem: string;
  /** Lowercase hex SHA-256 of the SPKI DER. */
  keyId: string;
}

/** File names under `<dataDir>/audit/`. */
export const AUDIT_KEY_FILE = 'audit-key.pem';
export const AUDIT_PUBLIC_KEY_FILE = 'audit-key.pub.pem';

/** Directory of the audit key inside a connector data directory. */
export function auditKeyDir(dataDir: string): string {
  return join(dataDir, 'audit');
}

/**
 * Generates a new key in memory (tests, or before saving it yourself).
 *
 * @example
 * const key = generateAuditKey();
 */
export function generateAuditKey(): AuditSigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return auditKeyFromPrivate(privateKey);
}

/** Lowercase hex SHA-256 of a public key's SPKI DER. */
export function auditKeyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * Parses an Ed25519 public key (SPKI PEM). Throws `AuditError` `AIRLOCK_AUDIT_KEY` otherwise.
 *
 * @example
 * const publicKey = auditPublicKeyFromPem(await readFile('audit-key.pub.pem', 'utf8'));
 */
export function auditPublicKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (cause) {
    throw new AuditError(AUDIT_ERROR_CODES.key, 'the audit public key is not a valid PEM public key', {
      cause,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AuditError(
      AUDIT_ERROR_CODES.key,
      `the audit public key must be Ed25519, not ${key.asymmetricKeyType}`,
    );
  }
  return key;
}

/**
 * Loads the audit key from `<dataDir>/audit/`, generating and saving it (0600) on first use.
 * Refuses a key file readable by group or others, or one that is not Ed25519
 * (`AuditError` `AIRLOCK_AUDIT_KEY`).
 *
 * @example
 * const key = await loadOrCreateAuditKey(context.dataDir);
 */
export async function loadOrCreateAuditKey(dataDir: string): Promise<AuditSigningKey> {
  const dir = auditKeyDir(dataDir);
  const file = join(dir, AUDIT_KEY_FILE);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new AuditError(AUDIT_ERROR_CODES.key, `cannot read the audit key ${file}`, { cause: err });
    }
    const key = generateAuditKey();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const privatePem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // `wx`: never overwrite a key another process created meanwhile.
    try {
      await writeFile(file, privatePem, { mode: 0o600, flag: 'wx' });
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateAuditKey(dataDir);
      throw new AuditError(AUDIT_ERROR_CODES.key, `cannot write the audit key ${file}`, { cause: writeErr });
    }
    await chmod(file, 0o600);
    await writeFile(join(dir, AUDIT_PUBLIC_KEY_FILE), key.publicKeyPem);
    return key;
  }
  const mode = (await stat(file)).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new AuditError(
      AUDIT_ERROR_CODES.key,
      `the audit key ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (cause) {
    throw new AuditError(AUDIT_ERROR_CODES.key, `the audit key ${file} is not a valid PEM private key`, {
      cause,
    });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new AuditError(AUDIT_ERROR_CODES.key, `the audit key ${file} must be Ed25519`);
  }
  return auditKeyFromPrivate(privateKey);
}

function auditKeyFromPrivate(privateKey: KeyObject): AuditSigningKey {
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: auditKeyId(publicKey),
  };
}
