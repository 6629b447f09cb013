/**
 * Enrolls this connector with the relay named in its config and stores the credential in `dataDir`.
 * The connector's private key is generated here and never sent anywhere (the relay gets a CSR). The
 * audit public key (`<dataDir>/audit/`, created if needed) is sent along for the relay's witness,
 * and the enrollment is recorded in the audit trail (`connector.enroll`).
 *
 * Binding: without `binding`, this connector vouches for itself with its own tenant CA
 * (`<dataDir>/tenant/ca.key`, created now when missing): right for the tenant's FIRST connector, which
 * pins that CA at the relay. A later connector passes the binding made by `airlock connector add` on an
 * existing connector; a self-binding with another CA is refused by the relay
 * (`AIRLOCK_ENROLL_BINDING_INVALID`). An enrollment the relay reports unbound throws the same code.
 *
 * @example
 * const ctx = await loadConnectorContext('connector.yaml');
 * const cred = await enrollFromConfig(ctx, 'alk_0123456789abcdef.<secret>');
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreateAuditKey } from '../audit/audit-key.js';
import { ConfigError, EnrollmentError } from '../errors/airlock-error.js';
import { type CertifiedKey, createCertificateAuthority } from '../identity/pki.js';
import { listenAddress } from '../net/listen-address.js';
import { openStore } from '../store/open-store.js';
import { EnrollCodes } from '../tunnel/enrollment-protocol.js';
import { cliActor, recordAdminAction } from './admin-audit.js';
import { withAdminAuditLedger } from './connector-audit.js';
import type { ConnectorContext } from './connector-context.js';
import { type ConnectorCredential, saveCredential } from './credential-files.js';
import { type ConnectorBinding, enrollConnector, issueConnectorBinding } from './enroll-client.js';

/** Directory of the tenant PKI in a connector's data dir (see src/identity/tenant-pki.ts). */
export function tenantPkiDir(dataDir: string): string {
  return join(dataDir, 'tenant');
}

/**
 * The tenant CA of this connector: loaded from `<dataDir>/tenant/`, or created there (same files and
 * modes as `ensureTenantPki`, which later adds the server certificate once the tenant host is known).
 */
export async function loadOrCreateTenantCa(dataDir: string): Promise<CertifiedKey> {
  const dir = tenantPkiDir(dataDir);
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.pem');
  const [keyPem, certPem] = await Promise.all([readOptional(keyFile), readOptional(certFile)]);
  if (keyPem !== undefined && certPem !== undefined) return { keyPem, certPem };
  if (keyPem !== undefined || certPem !== undefined) {
    throw new ConfigError(
      `tenant CA in ${dir} is incomplete (ca.key and ca.pem go together); restore it from backup`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority({ commonName: 'Airlock tenant CA' });
  await writeFile(keyFile, ca.keyPem, { mode: 0o600 });
  await chmod(keyFile, 0o600);
  await writeFile(certFile, ca.certPem, { mode: 0o644 });
  return ca;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface EnrollFromConfigOptions {
  /** A binding from `airlock connector add` (default: a self-binding with this connector's tenant CA). */
  binding?: ConnectorBinding;
}

export async function enrollFromConfig(
  ctx: ConnectorContext,
  token: string,
  options: EnrollFromConfigOptions = {},
): Promise<ConnectorCredential> {
  const relay = ctx.config.relay;
  if (!relay)
    throw new ConfigError('no "relay" section: this connector is not set up to use a relay', {
      file: ctx.configFile,
    });
  const relayCaPem = relay.caFile ? await readFile(ctx.resolvePath(relay.caFile), 'utf8') : undefined;
  await mkdir(ctx.dataDir, { recursive: true, mode: 0o700 });
  const auditKey = await loadOrCreateAuditKey(ctx.dataDir);
  const binding = options.binding ?? (await issueConnectorBinding(await loadOrCreateTenantCa(ctx.dataDir)));
  const enrolled = await enrollConnector({
    relayUrl: relay.url,
    token,
    binding,
    auditPublicKeyPem: auditKey.publicKeyPem,
    ...(relayCaPem ? { relayCaPem } : {}),
    ...(relay.connect ? { connectTo: listenAddress(relay.connect) } : {}),
  });
  if (!enrolled.bound) {
    throw new EnrollmentError(
      EnrollCodes.BINDING_INVALID,
      `the relay enrolled connector ${enrolled.connectorId} without a binding; it will get no tunnel`,
    );
  }
  const credential: ConnectorCredential = {
    tenant: enrolled.tenant,
    tenantHost: enrolled.tenantHost,
    connectorId: enrolled.connectorId,
    relayUrl: relay.url,
    keyPem: enrolled.keyPem,
    certPem: enrolled.certPem,
    ...(relayCaPem ? { relayCaPem } : {}),
    enrolledAt: Date.now(),
  };
  await saveCredential(ctx.dataDir, credential);
  const store = await openStore({ url: ctx.storeUrl });
  try {
    await withAdminAuditLedger(
      ctx,
      store,
      (ledger) =>
        recordAdminAction(ledger, {
          action: 'connector.enroll',
          actor: cliActor(),
          target: enrolled.connectorId,
          detail: { relayUrl: relay.url, tenantHost: enrolled.tenantHost, auditKeyId: auditKey.keyId },
        }),
      { tenant: enrolled.tenant },
    );
  } finally {
    await store.close();
  }
  return credential;
}
