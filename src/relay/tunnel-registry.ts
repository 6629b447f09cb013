/**
 * Live tunnels per tenant, keyed by (tenant, connectorId, slot). A new tunnel with a key already in
 * use REPLACES the old one at once: a connector that lost its connection without a FIN (half-open)
 * reclaims its place the moment it reconnects, instead of being told "name in use".
 */
import type { RelayTunnel } from '../tunnel/relay-tunnel.js';
import type { TunnelTransportKind } from '../tunnel/tunnel-dialer.js';

export interface TunnelSummary {
  tenant: string;
  connectorId: string;
  slot: number;
  transport: TunnelTransportKind;
  remoteAddress: string;
  activeStreams: number;
  connectedAt: number;
  draining: boolean;
}

export class TunnelRegistry {
  private readonly byTenant = new Map<string, Map<string, RelayTunnel>>();
  private roundRobin = 0;

  /** Adds `tunnel`; returns the tunnel it replaced, if any (the caller ends that one). */
  add(tunnel: RelayTunnel): RelayTunnel | undefined {
    const tenant = tunnel.info.tenant;
    let tunnels = this.byTenant.get(tenant);
    if (!tunnels) {
      tunnels = new Map();
      this.byTenant.set(tenant, tunnels);
    }
    const previous = tunnels.get(tunnel.key);
    tunnels.set(tunnel.key, tunnel);
    return previous === tunnel ? undefined : previous;
  }

  /** Removes `tunnel` if it is still the registered one for its key. */
  remove(tunnel: RelayTunnel): void {
    const tunnels = this.byTenant.get(tunnel.info.tenant);
    if (tunnels?.get(tunnel.key) !== tunnel) return;
    tunnels.delete(tunnel.key);
    if (tunnels.size === 0) this.byTenant.delete(tunnel.info.tenant);
  }

  /** True when the tenant has at least one tunnel that accepts streams. */
  hasAvailable(tenant: string): boolean {
    for (const tunnel of this.byTenant.get(tenant)?.values() ?? []) if (tunnel.available) return true;
    return false;
  }

  /** Tenants with at least one tunnel that accepts streams (what this node announces to its cluster). */
  availableTenants(): string[] {
    return [...this.byTenant.keys()].filter((tenant) => this.hasAvailable(tenant));
  }

  /** The available tunnel with the fewest active streams; ties are broken round-robin. */
  pick(tenant: string): RelayTunnel | undefined {
    const candidates = [...(this.byTenant.get(tenant)?.values() ?? [])].filter((t) => t.available);
    if (candidates.length === 0) return undefined;
    const start = this.roundRobin++ % candidates.length;
    let best: RelayTunnel | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[(start + i) % candidates.length]!;
      if (!best || candidate.activeStreams < best.activeStreams) best = candidate;
    }
    return best;
  }

  /** Every registered tunnel (optionally of one connector). */
  all(connectorId?: string): RelayTunnel[] {
    const out: RelayTunnel[] = [];
    for (const tunnels of this.byTenant.values()) {
      for (const tunnel of tunnels.values()) {
        if (connectorId === undefined || tunnel.info.connectorId === connectorId) out.push(tunnel);
      }
    }
    return out;
  }

  /** Live tunnel count per tenant (for the metrics gauge). */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [tenant, tunnels] of this.byTenant) out.set(tenant, tunnels.size);
    return out;
  }

  summary(): TunnelSummary[] {
    return this.all().map((t) => ({
      tenant: t.info.tenant,
      connectorId: t.info.connectorId,
      slot: t.hello?.slot ?? -1,
      transport: t.info.transport,
      remoteAddress: t.info.remoteAddress,
      activeStreams: t.activeStreams,
      connectedAt: t.connectedAt,
      draining: t.draining,
    }));
  }
}
