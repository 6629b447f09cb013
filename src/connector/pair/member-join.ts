/**
 * Adding a member to a tenant's connector pair, the two halves of the CLI:
 *
 * - `airlock connector add --bundle <file> --passphrase-file <f>` on a running member:
 *   {@link writeMemberBundle} seals the tenant keys and a fresh relay binding into one file;
 * - `airlock connector join --bundle <file> --passphrase-file <f> -t <token> -c <config>` on the new
 *   machine: {@link joinMember} opens it, installs the keys into the config's data directory and
 *   enrolls with the relay using the binding (the relay accepts it: it is signed by the tenant CA).
 *
 * Both refuse a connector whose store is not shared (SQLite): a second member with its own store
 * would keep its own approvals, revocations and audit trail, which is not a pair.
 *
 * @example
 * await writeMemberBundle(await loadConnectorContext('a.yaml'), 'member.age', passphrase);
 * await joinMember('b.yaml', { bundle: 'member.age', passphrase, token });
 */
import { readFile, writeFile } from 'node:fs/promises';
import { type ConnectorContext, loadConnectorContext, requireTenantHost } from '../connector-context.js';
import type { ConnectorCredential } from '../credential-files.js';
import { issueConnectorBinding } from '../enroll-client.js';
import { enrollFromConfig, loadOrCreateTenantCa } from '../enroll-connector.js';
import {
  collectMemberBundle,
  installMemberBundle,
  MemberBundleError,
  openMemberBundle,
  sealMemberBundle,
} from './member-bundle.js';

/** Largest passphrase file read (a passphrase, not a document). */
export const MAX_PASSPHRASE_FILE_BYTES = 4096;
/** Largest bundle file read (keys and certificates, armored: a few tens of kB). */
export const MAX_BUNDLE_FILE_BYTES = 1024 * 1024;

/** The store of a pair must be shared: PostgreSQL. */
export function assertSharedStore(ctx: ConnectorContext): void {
  if (/^postgres(ql)?:\/\//.test(ctx.storeUrl)) return;
  throw new MemberBundleError(
    'AIRLOCK_PAIR_STORE_NOT_SHARED',
    `${ctx.configFile}: the members of a pair share one PostgreSQL store; set "store: postgres://…" (this connector uses ${ctx.storeUrl.split(':')[0]})`,
  );
}

/** Reads a passphrase file: the first line, without its line break. */
export async function readPassphraseFile(file: string): Promise<string> {
  const text = await readBounded(file, MAX_PASSPHRASE_FILE_BYTES, 'passphrase file');
  return text.split(/\r?\n/)[0] ?? '';
}

async function readBounded(file: string, max: number, what: string): Promise<string> {
  const data = await readFile(file);
  if (data.length > max)
    throw new MemberBundleError('AIRLOCK_BUNDLE_TOO_LARGE', `${what} ${file} is larger than ${max} bytes`);
  return data.toString('utf8');
}

/**
 * On a member: issues a binding for the new member and writes the sealed bundle to `out` (mode 0600).
 * Returns the tenant hostname.
 */
export async function writeMemberBundle(
  ctx: ConnectorContext,
  out: string,
  passphrase: string,
): Promise<string> {
  assertSharedStore(ctx);
  const tenantHost = requireTenantHost(ctx);
  const binding = await issueConnectorBinding(await loadOrCreateTenantCa(ctx.dataDir));
  if (binding.keyPem === undefined) throw new Error('a binding made here always carries its key');
  const bundle = await collectMemberBundle(ctx.dataDir, tenantHost, {
    certPem: binding.certPem,
    keyPem: binding.keyPem,
    tenantCaPem: binding.tenantCaPem,
  });
  await writeFile(out, await sealMemberBundle(bundle, passphrase), { mode: 0o600, flag: 'wx' });
  return tenantHost;
}

export interface JoinOptions {
  bundle: string;
  passphrase: string;
  /** One-time enrollment token for the tenant (`airlock tenant token`). */
  token: string;
  /** Replace different keys already in the data directory. */
  force?: boolean;
}

/**
 * On the new machine: opens the bundle (a wrong passphrase or a modified file writes nothing),
 * installs the tenant keys into the config's data directory and enrolls with the binding.
 */
export async function joinMember(configFile: string, options: JoinOptions): Promise<ConnectorCredential> {
  const before = await loadConnectorContext(configFile);
  assertSharedStore(before);
  if (before.credential) {
    throw new MemberBundleError(
      'AIRLOCK_PAIR_ALREADY_ENROLLED',
      `${before.dataDir} already holds an enrolled connector (${before.credential.connectorId}); join with a fresh data directory`,
    );
  }
  const sealed = await readBounded(options.bundle, MAX_BUNDLE_FILE_BYTES, 'bundle');
  const bundle = await openMemberBundle(sealed, options.passphrase);
  if (!bundle.binding) {
    throw new MemberBundleError(
      'AIRLOCK_BUNDLE_NO_BINDING',
      'the bundle carries no relay binding: make it with "airlock connector add --bundle"',
    );
  }
  await installMemberBundle(before.dataDir, bundle, { force: options.force === true });
  const ctx = await loadConnectorContext(configFile);
  const credential = await enrollFromConfig(ctx, options.token, { binding: bundle.binding });
  if (credential.tenantHost.toLowerCase() !== bundle.tenantHost.toLowerCase()) {
    throw new MemberBundleError(
      'AIRLOCK_PAIR_TENANT_MISMATCH',
      `the token enrolled this connector for ${credential.tenantHost}, but the bundle is for ${bundle.tenantHost}`,
    );
  }
  return credential;
}
