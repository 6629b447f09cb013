/**
 * Relay metrics (prom-client, one Registry per relay). Only what the relay can see without
 * decrypting: tenants, connection counts, byte counts, routing failures. Never payload data.
 */
import { type Counter, type Gauge, Registry } from 'prom-client';
import { metricFactory } from '../metrics/metric-factory.js';

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
  /** Agent connections replayed on another tunnel stream because the first one was refused or lost unanswered. */
  readonly streamReroutesTotal: Counter<'tenant'>;

  /** `tunnelCounts` is read at scrape time, so the gauge always matches the registry. */
  constructor(tunnelCounts: () => Map<string, number>) {
    const m = metricFactory(this.registry);
    this.tunnels = m.gauge('airlock_relay_tunnels', 'Live connector tunnels per tenant', ['tenant'], (g) => {
      for (const [tenant, count] of tunnelCounts()) g.set({ tenant }, count);
    });
    this.agentConnectionsTotal = m.counter(
      'airlock_relay_agent_connections_total',
      'Agent connections routed to a tenant tunnel',
      ['tenant'],
    );
    this.agentConnectionsActive = m.gauge(
      'airlock_relay_agent_connections_active',
      'Agent connections currently piped to a tenant tunnel',
      ['tenant'],
    );
    this.bytesTotal = m.counter(
      'airlock_relay_bytes_total',
      'Bytes piped between agents and connectors (TLS ciphertext, never decrypted)',
      ['tenant', 'direction'],
    );
    this.routingFailures = m.counter(
      'airlock_relay_routing_failures_total',
      'Connections refused before routing (no SNI, unknown tenant, no tunnel, limits, ...)',
      ['reason'],
    );
    this.splicesTotal = m.counter(
      'airlock_relay_splices_total',
      'Agent connections spliced between relay nodes, as raw TLS bytes (out: to the node with the tunnel)',
      ['direction'],
    );
    this.streamReroutesTotal = m.counter(
      'airlock_relay_stream_reroutes_total',
      "Agent connections moved to another tunnel because a stream was refused or lost before the connector's first byte",
      ['tenant'],
    );
  }
}
