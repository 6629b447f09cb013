/**
 * Enrolls this connector with the relay named in its config and stores the credential in `dataDir`.
 * The connector's private key is generated here and never sent anywhere (the relay gets a CSR). The
 * audit public key (`<dataDir>/audit/`, created if needed) is sent along for the relay's witness,
 * and the enrollment is recorded in the audit trail (`connector.enroll`).
 *
 * @example
 * const ctx = await loadConnectorContext('connector.yaml');
 * const cred = await enrollFromConfig(ctx, 'alk_0123456789abcdef.<secret>');
 */
import { mkdir, readFile } from 'node:fs/promises';
import { loadOrCreateAuditKey } from '../audit/audit-key.js';
import { ConfigError } from '../errors/airlock-error.js';
import { openStore } from '../store/open-store.js';
import { cliActor, recordAdminAction } from './admin-audit.js';
import { withAdminAuditLedger } from './connector-audit.js';
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
  await mkdir(ctx.dataDir, { recursive: true, mode: 0o700 });
  const auditKey = await loadOrCreateAuditKey(ctx.dataDir);
  const enrolled = await enrollConnector({
    relayUrl: relay.url,
    token,
    auditPublicKeyPem: auditKey.publicKeyPem,
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
