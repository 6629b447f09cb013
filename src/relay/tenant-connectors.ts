/**
 * The relay-side view of a tenant's connectors: every enrolled connector with its state (online when a
 * tunnel is up, offline, unbound, revoked), its live tunnel count and when it was last seen. Served to
 * the tenant's bound connectors at `GET /v1/connectors` (`airlock connector list`, the console) and to
 * the operator through `Relay.connectors(tenant)`.
 *
 * @example
 * const view = await listTenantConnectors(store, registry, 'acme');
 * // [{ id: 'con_…', state: 'online', tunnels: 2, lastSeenAt: 1765…, bound: true, … }]
 */
import type { Store } from '../store/store.js';
import type { TenantConnectorView } from '../tunnel/enrollment-protocol.js';
import type { TunnelRegistry } from './tunnel-registry.js';

export type { TenantConnectorView };

export async function listTenantConnectors(
  store: Store,
  registry: TunnelRegistry,
  tenant: string,
): Promise<TenantConnectorView[]> {
  const pin = await store.relay.getTenantCaPin(tenant);
  const records = await store.relay.listConnectors(tenant);
  return records.map((record) => {
    const tunnels = registry.all(record.id).length;
    const bound = pin !== undefined && record.boundCaFingerprint === pin.caFingerprint;
    const state =
      record.revokedAt !== null ? 'revoked' : !bound ? 'unbound' : tunnels > 0 ? 'online' : 'offline';
    return {
      id: record.id,
      tenant,
      state,
      bound,
      tunnels,
      enrolledAt: record.enrolledAt,
      lastSeenAt: tunnels > 0 ? Date.now() : record.lastSeenAt,
      revokedAt: record.revokedAt,
    };
  });
}
