/**
 * The tenant's connectors as the relay knows them, for `airlock connector list`: asked with this
 * connector's credential. A relay that does not answer is reported, not fatal (the members' heartbeats
 * in the shared store are still listed).
 *
 * @example
 * const { connectors, me, relayError } = await relayConnectors('connector.yaml');
 */
import type { TenantConnectorView } from '../tunnel/enrollment-protocol.js';

export interface RelayConnectorList {
  tenant: string | undefined;
  connectors: TenantConnectorView[];
  /** This connector's id. */
  me: string | undefined;
  /** Why the relay's list is missing, when it is. */
  relayError: string | undefined;
}

/** Throws `AIRLOCK_CREDENTIAL_MISSING` when the connector is not enrolled. */
export async function relayConnectors(configFile: string): Promise<RelayConnectorList> {
  const { loadConnectorContext } = await import('../connector/connector-context.js');
  const { loadCredential } = await import('../connector/credential-files.js');
  const { fetchTenantConnectors } = await import('../connector/tenant-connectors-client.js');
  const { listenAddress } = await import('../net/listen-address.js');
  const { AirlockError } = await import('../errors/airlock-error.js');
  const ctx = await loadConnectorContext(configFile);
  const cred = await loadCredential(ctx.dataDir);
  if (!cred) throw new AirlockError('AIRLOCK_CREDENTIAL_MISSING', 'this connector is not enrolled yet');
  const connect = ctx.config.relay?.connect;
  try {
    const list = await fetchTenantConnectors({
      relayUrl: cred.relayUrl,
      credential: cred,
      ...(cred.relayCaPem ? { relayCaPem: cred.relayCaPem } : {}),
      ...(connect ? { connectTo: listenAddress(connect) } : {}),
    });
    return { tenant: list.tenant, connectors: list.connectors, me: cred.connectorId, relayError: undefined };
  } catch (err) {
    const relayError = err instanceof Error ? err.message : String(err);
    return { tenant: cred.tenant, connectors: [], me: cred.connectorId, relayError };
  }
}
