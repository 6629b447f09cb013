/**
 * Enrolls this connector with the relay named in its config and stores the credential in `dataDir`.
 * The connector's private key is generated here and never sent anywhere (the relay gets a CSR).
 *
 * @example
 * const ctx = await loadConnectorContext('connector.yaml');
 * const cred = await enrollFromConfig(ctx, 'alk_0123456789abcdef.<secret>');
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors/airlock-error.js';
import type { ConnectorContext } from './connector-context.js';
import { type ConnectorCredential, saveCredential } from './credential-files.js';
import { enrollConnector } from './enroll-client.js';
import { listenAddress } from './listen-address.js';

export async function enrollFromConfig(ctx: ConnectorContext, token: string): Promise<ConnectorCredential> {
  const relay = ctx.config.relay;
  if (!relay)
    throw new ConfigError('no "relay" section: this connector is not set up to use a relay', {
      file: ctx.configFile,
    });
  const relayCaPem = relay.caFile ? await readFile(ctx.resolvePath(relay.caFile), 'utf8') : undefined;
  const enrolled = await enrollConnector({
    relayUrl: relay.url,
    token,
    ...(relayCaPem ? { relayCaPem } : {}),
    ...(relay.connect ? { connectTo: listenAddress(relay.connect) } : {}),
  });
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
  return credential;
}
