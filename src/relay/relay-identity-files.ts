/**
 * The relay's identity on disk, created on first start: `<dataDir>/identity/{ca,server,connector-ca}.{pem,key}`.
 * Private keys are written 0600. With `tls` given (a publicly trusted certificate for the relay
 * host), that certificate is served instead of the self-made one; connectors then need no pinned CA.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CertifiedKey, certificateInfo } from '../identity/pki.js';
import { createRelayIdentity, type RelayIdentity } from './relay-identity.js';

async function readPair(dir: string, name: string): Promise<CertifiedKey | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(join(dir, `${name}.pem`), 'utf8'),
      readFile(join(dir, `${name}.key`), 'utf8'),
    ]);
    return { certPem, keyPem };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writePair(dir: string, name: string, pair: CertifiedKey): Promise<void> {
  await writeFile(join(dir, `${name}.key`), pair.keyPem, { mode: 0o600 });
  await writeFile(join(dir, `${name}.pem`), pair.certPem);
}

/**
 * Load the relay identity from `dataDir`, creating it on first use.
 *
 * @example
 * const identity = await loadOrCreateRelayIdentity('/var/lib/airlock-relay', 'relay.example.com');
 */
export async function loadOrCreateRelayIdentity(
  dataDir: string,
  relayHost: string,
  tls?: { certPem: string; keyPem: string },
): Promise<RelayIdentity> {
  const dir = join(dataDir, 'identity');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const [ca, server, connectorCa] = await Promise.all([
    readPair(dir, 'ca'),
    readPair(dir, 'server'),
    readPair(dir, 'connector-ca'),
  ]);
  let identity: RelayIdentity;
  if (ca && server && connectorCa && certificateInfo(server.certPem).dnsNames.includes(relayHost)) {
    identity = { ca, server, connectorCa };
  } else {
    const fresh = await createRelayIdentity({ relayHost });
    // Keep an existing connector CA: replacing it would invalidate every enrolled connector.
    identity = { ...fresh, connectorCa: connectorCa ?? fresh.connectorCa };
    await writePair(dir, 'ca', identity.ca);
    await writePair(dir, 'server', identity.server);
    await writePair(dir, 'connector-ca', identity.connectorCa);
  }
  return tls ? { ...identity, server: tls } : identity;
}
