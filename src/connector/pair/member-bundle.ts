/**
 * The member bundle: everything a second machine needs to serve the same tenant as this connector,
 * sealed with a passphrase. `airlock connector add --bundle` writes it on a running member;
 * `airlock connector join` installs it on the new machine.
 *
 * Contents (relative to the connector's data directory), with their file modes:
 * - `tenant/ca.key`, `tenant/ca.pem`, `tenant/server.key`, `tenant/server.pem` — the tenant CA and TLS key
 * - `pii/vault-key.json` — the PII vault keys (tokens issued by one member resolve on the other)
 * - `audit/audit-key.pem`, `audit/audit-key.pub.pem` — the audit signing key (one trail, one signer)
 * - `upstream-token-key.json` — the key of upstream and approval tokens (one JWKS for every member)
 * - `acme/*` when the tenant has a publicly trusted certificate
 * and the connector binding for the new member (a certificate issued by the tenant CA, see
 * `saveBindingBundle`), so that the relay accepts its tunnels.
 *
 * Sealing uses age (the `age-encryption` library, C2SP age format) with a passphrase recipient:
 * scrypt for the key, ChaCha20-Poly1305 for the payload. The result is ASCII-armored, so it can be
 * pasted. A wrong passphrase or a modified bundle fails to open; nothing is written then.
 *
 * @example
 * const sealed = await sealMemberBundle(await collectMemberBundle(dataDir, binding), passphrase);
 * await installMemberBundle(otherDataDir, await openMemberBundle(sealed, passphrase));
 */
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { armor, Decrypter, Encrypter } from 'age-encryption';
import { AirlockError } from '../../errors/airlock-error.js';

/** Files copied to a new member (relative to the data directory); missing optional ones are skipped. */
export const MEMBER_FILES = {
  required: [
    'tenant/ca.key',
    'tenant/ca.pem',
    'tenant/server.key',
    'tenant/server.pem',
    'pii/vault-key.json',
    'audit/audit-key.pem',
    'audit/audit-key.pub.pem',
  ],
  /** The upstream/approval token signing key: both members sign with it, so one JWKS verifies both. */
  optional: ['upstream-token-key.json'],
  optionalDirs: ['acme'],
} as const;

/** Shortest passphrase accepted for a bundle (it protects the tenant CA key). */
export const MIN_BUNDLE_PASSPHRASE_LENGTH = 16;

export interface MemberFile {
  path: string;
  mode: number;
  contentBase64: string;
}

export interface MemberBinding {
  certPem: string;
  keyPem: string;
  tenantCaPem: string;
}

export interface MemberBundle {
  version: 1;
  tenantHost: string;
  createdAt: string;
  files: MemberFile[];
  binding?: MemberBinding;
}

/** A bundle could not be made, opened or installed. */
export class MemberBundleError extends AirlockError {}

/** Reads the member files of `dataDir` into a bundle (does not seal it). */
export async function collectMemberBundle(
  dataDir: string,
  tenantHost: string,
  binding?: MemberBinding,
): Promise<MemberBundle> {
  const files: MemberFile[] = [];
  for (const path of MEMBER_FILES.required) files.push(await readMemberFile(dataDir, path));
  for (const path of MEMBER_FILES.optional) {
    const exists = await stat(join(dataDir, path)).then(
      () => true,
      () => false,
    );
    if (exists) files.push(await readMemberFile(dataDir, path));
  }
  for (const dir of MEMBER_FILES.optionalDirs) {
    const names = await readdir(join(dataDir, dir)).catch(() => [] as string[]);
    for (const name of names.sort()) files.push(await readMemberFile(dataDir, `${dir}/${name}`));
  }
  return {
    version: 1,
    tenantHost,
    createdAt: new Date().toISOString(),
    files,
    ...(binding ? { binding } : {}),
  };
}

async function readMemberFile(dataDir: string, path: string): Promise<MemberFile> {
  const full = join(dataDir, path);
  try {
    const [content, info] = await Promise.all([readFile(full), stat(full)]);
    return { path, mode: info.mode & 0o777, contentBase64: content.toString('base64') };
  } catch (cause) {
    throw new MemberBundleError(
      'AIRLOCK_BUNDLE_FILE_MISSING',
      `cannot read ${full}: run this on a connector that has started at least once`,
      { cause },
    );
  }
}

/** Seals `bundle` with `passphrase` (age, scrypt recipient), ASCII-armored. */
export async function sealMemberBundle(bundle: MemberBundle, passphrase: string): Promise<string> {
  if (passphrase.length < MIN_BUNDLE_PASSPHRASE_LENGTH) {
    throw new MemberBundleError(
      'AIRLOCK_BUNDLE_PASSPHRASE_WEAK',
      `the bundle passphrase must have at least ${MIN_BUNDLE_PASSPHRASE_LENGTH} characters`,
    );
  }
  const encrypter = new Encrypter();
  encrypter.setPassphrase(passphrase);
  const sealed = await encrypter.encrypt(JSON.stringify(bundle));
  return armor.encode(sealed);
}

/** Opens a sealed bundle; a wrong passphrase or any modification is an error and nothing is returned. */
export async function openMemberBundle(sealed: string, passphrase: string): Promise<MemberBundle> {
  let text: string;
  try {
    const decrypter = new Decrypter();
    decrypter.addPassphrase(passphrase);
    text = await decrypter.decrypt(armor.decode(sealed), 'text');
  } catch (cause) {
    throw new MemberBundleError(
      'AIRLOCK_BUNDLE_UNREADABLE',
      'the bundle cannot be opened: wrong passphrase, or the file was modified or cut',
      { cause },
    );
  }
  const bundle = JSON.parse(text) as MemberBundle;
  if (bundle.version !== 1 || !Array.isArray(bundle.files)) {
    throw new MemberBundleError(
      'AIRLOCK_BUNDLE_VERSION',
      `unsupported bundle version ${String(bundle.version)}`,
    );
  }
  return bundle;
}

/**
 * Writes the bundle's files into `dataDir` with their modes. Refuses to overwrite a different
 * existing key (a data directory of another tenant, or an earlier join): pass `force` to replace.
 */
export async function installMemberBundle(
  dataDir: string,
  bundle: MemberBundle,
  options: { force?: boolean } = {},
): Promise<string[]> {
  const written: string[] = [];
  for (const file of bundle.files) {
    const target = safeTarget(dataDir, file.path);
    const content = Buffer.from(file.contentBase64, 'base64');
    const existing = await readFile(target).catch(() => undefined);
    if (existing && !existing.equals(content) && !options.force) {
      throw new MemberBundleError(
        'AIRLOCK_BUNDLE_WOULD_OVERWRITE',
        `${target} exists with other content; this data directory already belongs to a connector (use --force to replace it)`,
      );
    }
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await writeFile(target, content, { mode: 0o600 });
    await chmod(target, file.mode);
    written.push(file.path);
  }
  return written;
}

/** A path inside `dataDir`; a bundle naming `../x` or an absolute path is refused. */
function safeTarget(dataDir: string, path: string): string {
  const clean = normalize(path);
  if (clean.startsWith('..') || clean.startsWith(sep) || clean.includes(`..${sep}`)) {
    throw new MemberBundleError(
      'AIRLOCK_BUNDLE_PATH',
      `the bundle names a path outside the data directory: ${path}`,
    );
  }
  return join(dataDir, clean);
}
