/**
 * The connector's on-disk tenant PKI: the tenant CA (which signs agent client certificates) and the
 * tenant TLS server key + certificate (SAN = the tenant hostname) that terminates agents' TLS.
 * All keys are generated here, on the connector, and never leave it.
 *
 * Layout of `dir` (created with mode 0700):
 *
 * | file | content | mode |
 * |---|---|---|
 * | `ca.key` | tenant CA private key (PKCS#8 PEM) | 0600 |
 * | `ca.pem` | tenant CA certificate | 0644 |
 * | `server.key` | tenant TLS private key | 0600 |
 * | `server.pem` | tenant TLS certificate, SAN = tenant host | 0644 |
 *
 * @example
 * const pki = await ensureTenantPki('/var/lib/airlock/pki', 'acme.relay.example');
 * tls.createServer({ key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.caCertPem, requestCert: true });
 * await issueAgentIdentity(pki, store, 'claims-bot', './out'); // out/claims-bot.cert.pem, .key.pem, ca.pem
 */
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IdentityError, PkiError } from '../errors/airlock-error.js';
import type { AgentIdentityRecord, Store } from '../store/store.js';
import {
  type CertifiedKey,
  certificateInfo,
  createCertificateAuthority,
  DEFAULT_CLIENT_VALID_DAYS,
  issueClientCertificate,
  issueServerCertificate,
} from './pki.js';

/** Default validity of an agent client certificate: 90 days. */
export const DEFAULT_AGENT_VALID_DAYS = DEFAULT_CLIENT_VALID_DAYS;
/** The tenant server certificate is re-issued when it expires within this many days. */
export const DEFAULT_SERVER_RENEW_BEFORE_DAYS = 30;

const AGENT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The loaded tenant PKI. The CA key stays on disk and is loaded only for issuing. */
export interface TenantPki {
  dir: string;
  tenantHost: string;
  /** Path of the CA certificate (give it to agents so they can verify the tenant). */
  caFile: string;
  caCertPem: string;
  serverKeyPem: string;
  serverCertPem: string;
  /** Paths of the other files, for operators and the CLI. */
  caKeyFile: string;
  serverKeyFile: string;
  serverCertFile: string;
}

/**
 * Creates the tenant PKI in `dir` if missing, reloads it if present, and re-issues the server
 * certificate when the tenant host changed, the CA changed, or it expires within
 * `DEFAULT_SERVER_RENEW_BEFORE_DAYS`. A CA certificate without its key (or the reverse) is an error,
 * never silently replaced: that would invalidate every agent certificate.
 *
 * @example
 * const pki = await ensureTenantPki('./pki', 'acme.relay.example');
 */
export async function ensureTenantPki(dir: string, tenantHost: string): Promise<TenantPki> {
  if (!tenantHost || /[\s/]/.test(tenantHost)) {
    throw new PkiError('AIRLOCK_PKI_TENANT_HOST', `invalid tenant host ${JSON.stringify(tenantHost)}`);
  }
  const root = resolve(dir);
  const files = {
    caKeyFile: join(root, 'ca.key'),
    caFile: join(root, 'ca.pem'),
    serverKeyFile: join(root, 'server.key'),
    serverCertFile: join(root, 'server.pem'),
  };
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new PkiError('AIRLOCK_PKI_DIR', `cannot create PKI directory ${root}`, { cause });
  }

  let caKeyPem = await readOptional(files.caKeyFile);
  let caCertPem = await readOptional(files.caFile);
  if (caKeyPem === undefined && caCertPem === undefined) {
    const ca = await createCertificateAuthority({ commonName: `${tenantHost} Airlock tenant CA` });
    await writeSecret(files.caKeyFile, ca.keyPem);
    await writePublic(files.caFile, ca.certPem);
    caKeyPem = ca.keyPem;
    caCertPem = ca.certPem;
  } else if (caKeyPem === undefined || caCertPem === undefined) {
    const missing = caKeyPem === undefined ? files.caKeyFile : files.caFile;
    throw new PkiError(
      'AIRLOCK_PKI_TENANT_INCOMPLETE',
      `tenant CA is incomplete: ${missing} is missing (restore it from backup; regenerating would invalidate every agent certificate)`,
    );
  }
  const caCert = parseNodeCert(caCertPem, files.caFile);

  let serverKeyPem = await readOptional(files.serverKeyFile);
  let serverCertPem = await readOptional(files.serverCertFile);
  if (
    serverKeyPem === undefined ||
    serverCertPem === undefined ||
    !serverCertStillGood(serverCertPem, caCert, tenantHost)
  ) {
    const server = await issueServerCertificate(
      { keyPem: caKeyPem, certPem: caCertPem },
      { commonName: tenantHost, dnsNames: [tenantHost] },
    );
    await writeSecret(files.serverKeyFile, server.keyPem);
    await writePublic(files.serverCertFile, server.certPem);
    serverKeyPem = server.keyPem;
    serverCertPem = server.certPem;
  }
  return { dir: root, tenantHost, caCertPem, serverKeyPem, serverCertPem, ...files };
}

/**
 * The SPIFFE-style identity of an agent of a tenant. Throws `IdentityError` `AIRLOCK_IDENTITY_NAME`
 * unless `agentName` matches `[a-z0-9][a-z0-9._-]{0,62}`.
 *
 * @example
 * spiffeIdFor('acme.relay.example', 'claims-bot') // 'spiffe://acme.relay.example/agent/claims-bot'
 */
export function spiffeIdFor(tenantHost: string, agentName: string): string {
  assertAgentName(agentName);
  return `spiffe://${tenantHost}/agent/${agentName}`;
}

/**
 * Issues a client certificate for agent `name` (URI SAN = `spiffeIdFor(tenantHost, name)`), records it
 * in the store, and writes `<outDir>/<name>.cert.pem`, `<outDir>/<name>.key.pem` (0600) and
 * `<outDir>/ca.pem` (the tenant CA, to verify the tenant server). Issuing again for the same name
 * adds another certificate (rotation); revocation covers all of them.
 *
 * @example
 * const { certFile, keyFile, caFile, record } = await issueAgentIdentity(pki, store, 'claims-bot', './out');
 */
export async function issueAgentIdentity(
  pki: TenantPki,
  store: Store,
  name: string,
  outDir: string,
  opts?: { validDays?: number },
): Promise<{ certFile: string; keyFile: string; caFile: string; record: AgentIdentityRecord }> {
  const spiffeId = spiffeIdFor(pki.tenantHost, name);
  const ca: CertifiedKey = { keyPem: await readRequired(pki.caKeyFile), certPem: pki.caCertPem };
  const issued = await issueClientCertificate(ca, {
    commonName: name,
    uris: [spiffeId],
    validDays: opts?.validDays ?? DEFAULT_AGENT_VALID_DAYS,
  });
  const record: AgentIdentityRecord = {
    name,
    spiffeId,
    certSerial: issued.serial,
    certFingerprint: issued.fingerprint,
    notAfter: issued.notAfter.getTime(),
    createdAt: Date.now(),
    revokedAt: null,
  };
  const out = resolve(outDir);
  await mkdir(out, { recursive: true, mode: 0o700 });
  const certFile = join(out, `${name}.cert.pem`);
  const keyFile = join(out, `${name}.key.pem`);
  const caFile = join(out, 'ca.pem');
  // Record first: a certificate that exists on disk is always known to (and revocable by) the store.
  const { revokedAt: _revokedAt, ...toStore } = record;
  await store.identities.addIdentity(toStore);
  await writeSecret(keyFile, issued.keyPem);
  await writePublic(certFile, issued.certPem);
  if (caFile !== pki.caFile) await writePublic(caFile, pki.caCertPem);
  return { certFile, keyFile, caFile, record };
}

/**
 * Revokes every certificate issued for agent `name`. Returns false when no such identity exists.
 *
 * @example
 * await revokeAgentIdentity(store, 'claims-bot');
 */
export async function revokeAgentIdentity(
  store: Store,
  name: string,
  now: number = Date.now(),
): Promise<boolean> {
  assertAgentName(name);
  const revoked = await store.identities.revokeIdentity(name, now);
  // Other connectors sharing the store close the identity's open connections at once.
  if (revoked) await store.changes.publish('identities', { name }).catch(() => undefined);
  return revoked;
}

// ---------------------------------------------------------------------------------------------

function assertAgentName(name: string): void {
  if (typeof name !== 'string' || !AGENT_NAME.test(name)) {
    throw new IdentityError(
      'AIRLOCK_IDENTITY_NAME',
      `invalid agent name ${JSON.stringify(name)}: use 1-63 characters a-z 0-9 . _ - starting with a letter or digit`,
    );
  }
}

function serverCertStillGood(certPem: string, caCert: X509Certificate, tenantHost: string): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return false;
  }
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return false;
  const info = certificateInfo(certPem);
  if (!info.dnsNames.includes(tenantHost)) return false;
  return info.notAfter.getTime() - Date.now() > DEFAULT_SERVER_RENEW_BEFORE_DAYS * DAY_MS;
}

function parseNodeCert(pem: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new PkiError('AIRLOCK_PKI_BAD_PEM', `${file} is not a PEM certificate`, { cause });
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PkiError('AIRLOCK_PKI_READ', `cannot read ${file}`, { cause });
  }
}

async function readRequired(file: string): Promise<string> {
  const text = await readOptional(file);
  if (text === undefined) throw new PkiError('AIRLOCK_PKI_READ', `${file} is missing`);
  return text;
}

/** Writes atomically (temp file + rename) with mode 0600. */
async function writeSecret(file: string, content: string): Promise<void> {
  await writeAtomic(file, content, 0o600);
}

async function writePublic(file: string, content: string): Promise<void> {
  await writeAtomic(file, content, 0o644);
}

async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, content, { mode, flag: 'wx' });
    await chmod(tmp, mode); // writeFile's mode is filtered by the umask
    await rename(tmp, file);
  } catch (cause) {
    throw new PkiError('AIRLOCK_PKI_WRITE', `cannot write ${file}`, { cause });
  }
}
