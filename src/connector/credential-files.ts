/**
 * The connector's enrollment credential on disk: its private key (never leaves this directory),
 * the certificate the relay issued for it, the relay CA it pins, and what the relay told it.
 *
 * Layout under `<dataDir>/credential/`: `connector.key` (0600), `connector.pem`, `relay-ca.pem`,
 * `enrollment.json`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors/airlock-error.js';

export interface ConnectorCredential {
  tenant: string;
  tenantHost: string;
  connectorId: string;
  relayUrl: string;
  keyPem: string;
  certPem: string;
  /** Absent when the relay has a publicly trusted certificate. */
  relayCaPem?: string;
  enrolledAt: number;
}

interface EnrollmentFacts {
  tenant: string;
  tenantHost: string;
  connectorId: string;
  relayUrl: string;
  enrolledAt: number;
}

export function credentialDir(dataDir: string): string {
  return join(dataDir, 'credential');
}

export async function saveCredential(dataDir: string, cred: ConnectorCredential): Promise<void> {
  const dir = credentialDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'connector.key'), cred.keyPem, { mode: 0o600 });
  await writeFile(join(dir, 'connector.pem'), cred.certPem);
  if (cred.relayCaPem) await writeFile(join(dir, 'relay-ca.pem'), cred.relayCaPem);
  const facts: EnrollmentFacts = {
    tenant: cred.tenant,
    tenantHost: cred.tenantHost,
    connectorId: cred.connectorId,
    relayUrl: cred.relayUrl,
    enrolledAt: cred.enrolledAt,
  };
  await writeFile(join(dir, 'enrollment.json'), `${JSON.stringify(facts, null, 2)}\n`);
}

/** Load the credential, or `undefined` when this connector has not enrolled yet. */
export async function loadCredential(dataDir: string): Promise<ConnectorCredential | undefined> {
  const dir = credentialDir(dataDir);
  let factsText: string;
  try {
    factsText = await readFile(join(dir, 'enrollment.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const facts = JSON.parse(factsText) as EnrollmentFacts;
    const keyPem = await readFile(join(dir, 'connector.key'), 'utf8');
    const certPem = await readFile(join(dir, 'connector.pem'), 'utf8');
    const relayCaPem = await readFile(join(dir, 'relay-ca.pem'), 'utf8').catch(() => undefined);
    return { ...facts, keyPem, certPem, ...(relayCaPem ? { relayCaPem } : {}) };
  } catch (err) {
    throw new AirlockError(
      'AIRLOCK_CREDENTIAL_CORRUPT',
      `the connector credential in ${dir} is incomplete or unreadable; enroll again with a new token`,
      { cause: err },
    );
  }
}

/**
 * A connector binding bundle (`airlock connector add --out <dir>`): `binding.pem` (issued by the tenant
 * CA), `tenant-ca.pem`, and `connector.key` (0600) when the key was made with the binding. Later rounds
 * add the tenant key material for a full HA copy next to these files.
 */
export interface BindingBundle {
  keyPem?: string;
  certPem: string;
  tenantCaPem: string;
}

const BINDING_FILES = { key: 'connector.key', cert: 'binding.pem', ca: 'tenant-ca.pem' } as const;

/** Writes a binding bundle into `dir` (created 0700). */
export async function saveBindingBundle(dir: string, bundle: BindingBundle): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (bundle.keyPem !== undefined)
    await writeFile(join(dir, BINDING_FILES.key), bundle.keyPem, { mode: 0o600 });
  await writeFile(join(dir, BINDING_FILES.cert), bundle.certPem);
  await writeFile(join(dir, BINDING_FILES.ca), bundle.tenantCaPem);
}

/** Reads a binding bundle; `keyFile` overrides `<dir>/connector.key` (a key made on this host). */
export async function loadBindingBundle(dir: string, keyFile?: string): Promise<BindingBundle> {
  try {
    const certPem = await readFile(join(dir, BINDING_FILES.cert), 'utf8');
    const tenantCaPem = await readFile(join(dir, BINDING_FILES.ca), 'utf8');
    const keyPem = await readFile(keyFile ?? join(dir, BINDING_FILES.key), 'utf8').catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' && keyFile === undefined) return undefined;
        throw err;
      },
    );
    return { certPem, tenantCaPem, ...(keyPem !== undefined ? { keyPem } : {}) };
  } catch (err) {
    throw new AirlockError(
      'AIRLOCK_CREDENTIAL_BINDING_UNREADABLE',
      `cannot read the connector binding in ${dir}`,
      {
        cause: err,
      },
    );
  }
}
