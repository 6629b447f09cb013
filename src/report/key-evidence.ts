/**
 * Question 2 (who can decrypt): every key of the installation, read from the connector's data
 * directory — where it lives, its file mode and age, its algorithm and fingerprint. A fingerprint is
 * the SHA-256 of the public key (SPKI DER); the vault key is symmetric, so it is named by an HMAC-derived
 * key id instead, which identifies it without revealing it. Private or secret material is never copied
 * into the report.
 *
 * @example
 * const keys = await collectKeyEvidence({ dataDir: ctx.dataDir, tenant: 'acme', configFile: ctx.configFile });
 * keys.find((k) => k.id === 'audit')?.fingerprint; // same as the audit key id
 */
import { createHmac, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_KEY_FILE, AUDIT_PUBLIC_KEY_FILE, auditKeyDir } from '../audit/audit-key.js';
import { certificateInfo, publicKeyFingerprint } from '../identity/pki.js';
import { loadTenantPiiKeys } from '../pii/tenant-pii-keys.js';
import type { KeyEvidence } from './report-model.js';
import { spkiFingerprintCommand } from './reproduce-commands.js';

/** Label HMAC-ed with the vault key to name it (`hmac-key-id`). */
export const VAULT_KEY_ID_LABEL = 'airlock vault key id v1';

/** Where the PII master key lives inside a data directory (as the connector's governance opens it). */
export function vaultKeyFile(dataDir: string): string {
  return join(dataDir, 'pii', 'vault-key.json');
}

/**
 * The key id of a vault key: hex HMAC-SHA256 of {@link VAULT_KEY_ID_LABEL} under the key, first 32 hex.
 *
 * @example
 * vaultKeyId(keys.vaultKey) // '3f9a…' (32 hex)
 */
export function vaultKeyId(vaultKey: Uint8Array): string {
  return createHmac('sha256', vaultKey).update(VAULT_KEY_ID_LABEL).digest('hex').slice(0, 32);
}

interface FileFacts {
  present: boolean;
  fileMode?: string;
  fileCreatedAt?: number;
}

async function fileFacts(file: string): Promise<FileFacts> {
  try {
    const s = await stat(file);
    const created = s.birthtimeMs > 0 ? s.birthtimeMs : s.mtimeMs;
    return { present: true, fileMode: (s.mode & 0o777).toString(8), fileCreatedAt: Math.round(created) };
  } catch {
    return { present: false };
  }
}

async function readText(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined);
}

/** A key with a certificate: the private key file's facts, the certificate's identity. */
async function certifiedKey(
  base: Omit<KeyEvidence, 'present' | 'fingerprintKind' | 'reproduce'>,
  certFile: string,
): Promise<KeyEvidence> {
  const facts = await fileFacts(base.file);
  const certPem = await readText(certFile);
  const evidence: KeyEvidence = {
    ...base,
    ...facts,
    fingerprintKind: 'spki-sha256',
    reproduce: spkiFingerprintCommand(certFile, 'certificate'),
  };
  if (!certPem) return evidence;
  const info = certificateInfo(certPem);
  evidence.fingerprint = publicKeyFingerprint(certPem);
  evidence.algorithm = createPublicKey(certPem).asymmetricKeyType ?? 'unknown';
  evidence.certificate = {
    subject: info.commonName,
    issuer: info.issuer,
    serial: info.serial,
    notBefore: info.notBefore.getTime(),
    notAfter: info.notAfter.getTime(),
    dnsNames: info.dnsNames,
    fingerprint: info.fingerprint,
  };
  return evidence;
}

async function auditKey(dataDir: string): Promise<KeyEvidence> {
  const dir = auditKeyDir(dataDir);
  const file = join(dir, AUDIT_KEY_FILE);
  const pubFile = join(dir, AUDIT_PUBLIC_KEY_FILE);
  const facts = await fileFacts(file);
  const pem = (await readText(pubFile)) ?? (await readText(file));
  let fingerprint: string | undefined;
  let algorithm: string | undefined;
  if (pem) {
    const key = pem.includes('PRIVATE') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    fingerprint = publicKeyFingerprint(key.export({ type: 'spki', format: 'pem' }).toString());
    algorithm = key.asymmetricKeyType ?? 'unknown';
  }
  return {
    id: 'audit',
    label: 'Audit signing key',
    purpose: 'signs audit checkpoints, prune records and this report',
    heldBy: `this connector only (${dir})`,
    file,
    ...facts,
    ...(algorithm ? { algorithm } : {}),
    fingerprintKind: 'spki-sha256',
    ...(fingerprint ? { fingerprint } : {}),
    reproduce: spkiFingerprintCommand(pubFile, 'public'),
  };
}

async function vaultKey(dataDir: string, tenant: string, configFile: string): Promise<KeyEvidence> {
  const file = vaultKeyFile(dataDir);
  const facts = await fileFacts(file);
  const evidence: KeyEvidence = {
    id: 'vault',
    label: 'PII vault key',
    purpose: 'HMAC of PII tokens and AES-256-GCM of vault values (HKDF-derived per purpose)',
    heldBy: `this connector only (${file})`,
    file,
    ...facts,
    algorithm: 'HKDF-SHA256 → HMAC-SHA256 / AES-256-GCM',
    fingerprintKind: 'hmac-key-id',
    reproduce: `airlock report --config ${configFile} --out <dir>  # keys[id=vault].fingerprint`,
  };
  if (!facts.present) return evidence;
  try {
    const keys = await loadTenantPiiKeys({ path: file, tenant });
    evidence.fingerprint = vaultKeyId(keys.vaultKey);
  } catch (err) {
    evidence.heldBy += ` — unreadable: ${err instanceof Error ? err.message : String(err)}`;
  }
  return evidence;
}

/**
 * Every key of the connector in `dataDir`, in the order a reviewer reads them. Missing files are
 * reported as absent (e.g. no relay credential before enrollment).
 */
export async function collectKeyEvidence(opts: {
  dataDir: string;
  tenant: string;
  configFile: string;
}): Promise<KeyEvidence[]> {
  const tenantDir = join(opts.dataDir, 'tenant');
  const cred = join(opts.dataDir, 'credential'); // see src/connector/credential-files.ts
  const keys = [
    await certifiedKey(
      {
        id: 'tenant-ca',
        label: 'Tenant CA',
        purpose: 'issues agent client certificates (the unit of authentication)',
        heldBy: `this connector only (${tenantDir})`,
        file: join(tenantDir, 'ca.key'),
      },
      join(tenantDir, 'ca.pem'),
    ),
    await certifiedKey(
      {
        id: 'tenant-tls',
        label: 'Tenant TLS key',
        purpose: "terminates agents' TLS: only this key decrypts agent traffic",
        heldBy: `this connector only (${tenantDir})`,
        file: join(tenantDir, 'server.key'),
      },
      join(tenantDir, 'server.pem'),
    ),
    await certifiedKey(
      {
        id: 'connector',
        label: 'Connector tunnel key',
        purpose: 'authenticates this connector to the relay (tunnel client certificate)',
        heldBy: `this connector only (${cred})`,
        file: join(cred, 'connector.key'),
      },
      join(cred, 'connector.pem'),
    ),
    await auditKey(opts.dataDir),
    await vaultKey(opts.dataDir, opts.tenant, opts.configFile),
  ];
  const relayCa = join(cred, 'relay-ca.pem');
  const relayCaPem = await readText(relayCa);
  if (relayCaPem) {
    keys.push({
      ...(await certifiedKey(
        {
          id: 'relay-ca',
          label: 'Relay CA (pinned)',
          purpose:
            "the relay operator's CA this connector pins for its tunnels; it cannot decrypt agent traffic",
          heldBy: 'the relay operator',
          file: relayCa,
        },
        relayCa,
      )),
    });
  }
  return keys;
}
