/**
 * The tenant's PII keys. One random 256-bit master key per tenant lives in a key file on the connector
 * (mode 0600, refused when group or others can read it); the keys actually used are derived from it
 * with HKDF-SHA256, one per purpose, so the token HMAC, the vault encryption and the hash action never
 * share a key.
 *
 * File format (JSON): `{ "version": 1, "tenant": "acme", "key": "<base64url, 32 bytes>", "createdAt": "…" }`.
 *
 * @example
 * const keys = await loadTenantPiiKeys({ path: '/var/lib/airlock/pii.key', tenant: 'acme', create: true });
 * keys.tokenKey // 32-byte HMAC key for tokens
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PII_ERROR_CODES, PiiError } from './pii-errors.js';

/** Length of the master key and of every derived key, in bytes. */
export const PII_KEY_BYTES = 32;
/** Permission bits a key file is created with. */
export const PII_KEY_FILE_MODE = 0o600;

export interface TenantPiiKeys {
  tenant: string;
  /** HMAC-SHA256 key of tokens (`[[EMAIL:…]]`) and vault digests. */
  tokenKey: Buffer;
  /** AES-256-GCM key sealing vault values. */
  vaultKey: Buffer;
  /** HMAC-SHA256 key of the `hash` action. */
  hashKey: Buffer;
}

interface KeyFile {
  version: 1;
  tenant: string;
  key: string;
  createdAt: string;
}

/**
 * Derives the purpose keys from a master key (HKDF-SHA256, salt = tenant name).
 *
 * @example
 * const keys = deriveTenantPiiKeys('acme', randomBytes(32));
 */
export function deriveTenantPiiKeys(tenant: string, master: Uint8Array): TenantPiiKeys {
  if (master.length !== PII_KEY_BYTES) {
    throw new PiiError(PII_ERROR_CODES.keyFile, `a PII master key must be ${PII_KEY_BYTES} bytes`);
  }
  const derive = (purpose: string) =>
    Buffer.from(hkdfSync('sha256', master, Buffer.from(tenant), `airlock pii ${purpose} v1`, PII_KEY_BYTES));
  return { tenant, tokenKey: derive('token'), vaultKey: derive('vault'), hashKey: derive('hash') };
}

export interface LoadTenantPiiKeysOptions {
  /** Key file path. */
  path: string;
  tenant: string;
  /** Create the file (and its directory, 0700) with a new random key when it does not exist. Default false. */
  create?: boolean;
}

/**
 * Loads (or creates) the tenant's key file and derives its keys. Throws `PiiError`:
 * `AIRLOCK_PII_KEY_FILE_MODE` when group/others may read it, `AIRLOCK_PII_KEY_TENANT` when it belongs to
 * another tenant, `AIRLOCK_PII_KEY_FILE` when it is missing (without `create`) or malformed.
 */
export async function loadTenantPiiKeys(options: LoadTenantPiiKeysOptions): Promise<TenantPiiKeys> {
  const { path, tenant } = options;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT' || !options.create) {
      throw new PiiError(PII_ERROR_CODES.keyFile, `cannot read PII key file ${path}`, { cause });
    }
    return createKeyFile(path, tenant);
  }
  const info = await stat(path);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new PiiError(
      PII_ERROR_CODES.keyFileMode,
      `PII key file ${path} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 ${path}`,
    );
  }
  let parsed: Partial<KeyFile>;
  try {
    parsed = JSON.parse(text) as Partial<KeyFile>;
  } catch (cause) {
    throw new PiiError(PII_ERROR_CODES.keyFile, `PII key file ${path} is not JSON`, { cause });
  }
  const key = typeof parsed.key === 'string' ? Buffer.from(parsed.key, 'base64url') : undefined;
  if (parsed.version !== 1 || !key || key.length !== PII_KEY_BYTES) {
    throw new PiiError(
      PII_ERROR_CODES.keyFile,
      `PII key file ${path} has no version 1 key of ${PII_KEY_BYTES} bytes`,
    );
  }
  if (parsed.tenant !== tenant) {
    throw new PiiError(
      PII_ERROR_CODES.keyTenant,
      `PII key file ${path} belongs to tenant ${JSON.stringify(parsed.tenant)}, not ${JSON.stringify(tenant)}`,
    );
  }
  return deriveTenantPiiKeys(tenant, key);
}

async function createKeyFile(path: string, tenant: string): Promise<TenantPiiKeys> {
  const master = randomBytes(PII_KEY_BYTES);
  const file: KeyFile = {
    version: 1,
    tenant,
    key: master.toString('base64url'),
    createdAt: new Date().toISOString(),
  };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // 'wx': never overwrite a key another process created meanwhile (that would orphan its vault).
  const handle = await open(path, 'wx', PII_KEY_FILE_MODE).catch(async (cause: NodeJS.ErrnoException) => {
    if (cause.code === 'EEXIST') return undefined;
    throw new PiiError(PII_ERROR_CODES.keyFile, `cannot create PII key file ${path}`, { cause });
  });
  if (!handle) return loadTenantPiiKeys({ path, tenant });
  try {
    await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`);
  } finally {
    await handle.close();
  }
  return deriveTenantPiiKeys(tenant, master);
}
