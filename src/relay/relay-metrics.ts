/**
 * Relay metrics (prom-client, one Registry per relay). Only what the relay can see without
 * decrypting: tenants, connection counts, byte counts, routing failures. Never payload data.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export type ByteDirection = 'to_connector' | 'to_agent';

export class RelayMetrics {
  readonly registry = new Registry();
  readonly tunnels: Gauge<'tenant'>;
  readonly agentConnectionsTotal: Counter<'tenant'>;
  readonly agentConnectionsActive: Gauge<'tenant'>;
  readonly bytesTotal: Counter<'tenant' | 'direction'>;
  readonly routingFailures: Counter<'reason'>;
  /** Cluster: agent connections spliced to another node (`out`) or from one (`in`). */
  readonly splicesTotal: Counter<'direction'>;

  /** `tunnelCounts` is read at scrape time, so the gauge always matches the registry. */
  constructor(tunnelCounts: () => Map<string, number>) {
    const registers = [this.registry];
    this.tunnels = new Gauge({
      name: 'airlock_relay_tunnels',
      help: 'Live connector tunnels per tenant',
      labelNames: ['tenant'],
      registers,
      collect() {
        this.reset();
        for (const [tenant, count] of tunnelCounts()) this.set({ tenant }, count);
      },
    });
    this.agentConnectionsTotal = new Counter({
      name: 'airlock_relay_agent_connections_total',
      help: 'Agent connections routed to a tenant tunnel',
      labelNames: ['tenant'],
      registers,
    });
    this.agentConnectionsActive = new Gauge({
      name: 'airlock_relay_agent_connections_active',
      help: 'Agent connections currently piped to a tenant tunnel',
      labelNames: ['tenant'],
      registers,
    });
    this.bytesTotal = new Counter({
      name: 'airlock_relay_bytes_total',
      help: 'Bytes piped between agents and connectors (TLS ciphertext, never decrypted)',
      labelNames: ['tenant', 'direction'],
      registers,
    });
    this.routingFailures = new Counter({
      name: 'airlock_relay_routing_failures_total',
      help: 'Connections refused before routing (no SNI, unknown tenant, no tunnel, limits, ...)',
      labelNames: ['reason'],
      registers,
    });
    this.splicesTotal = new Counter({
      name: 'airlock_relay_splices_total',
      help: 'Agent connections spliced between relay nodes, as raw TLS bytes (out: to the node with the tunnel)',
      labelNames: ['direction'],
      registers,
    });
  }
}
