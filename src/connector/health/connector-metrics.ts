/**
 * Connector metrics for Prometheus (prom-client, one `Registry` per connector, never the global one),
 * served at `/metrics` on the admin port:
 *
 * - from the gateway's decision channel (`airlock:gateway:decision`): requests by method, refusals by
 *   stage and code, upstream latency (per upstream when the decision names it) and per-stage durations
 *   (when a decision carries `detail.durationMs`);
 * - read at scrape time from the running connector: tunnels by state, upstreams up / sandboxed /
 *   restarts, sessions, pending approvals, audit head and checkpoint lag, witness state;
 * - Node.js process metrics (`process_*`, `nodejs_*`).
 *
 * The decision channel is process-wide: run one connector per process (as the CLI does) for exact counts.
 *
 * @example
 * const metrics = new ConnectorMetrics(source);
 * const text = await metrics.registry.metrics();
 * metrics.close();
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { type Counter, collectDefaultMetrics, type Histogram, Registry } from 'prom-client';
import { DECISION_CHANNEL, type DecisionMessage } from '../../gateway/decision-channel.js';
import { type MetricFactory, metricFactory } from '../../metrics/metric-factory.js';
import type { HealthSource } from './connector-readiness.js';

/** Latency buckets in seconds (1 ms … 60 s; approvals wait longer and land in +Inf). */
export const DEFAULT_LATENCY_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export interface ConnectorMetricsOptions {
  /** Histogram buckets (seconds). Default {@link DEFAULT_LATENCY_BUCKETS}. */
  buckets?: number[];
  /** Also export Node.js process metrics. Default true. */
  processMetrics?: boolean;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export class ConnectorMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method'>;
  readonly refusals: Counter<'stage' | 'code'>;
  readonly upstreamLatency: Histogram<'upstream' | 'method'>;
  readonly stageDuration: Histogram<'stage'>;
  readonly #onDecision: (message: unknown) => void;

  constructor(source: HealthSource, opts: ConnectorMetricsOptions = {}) {
    const m = metricFactory(this.registry);
    const buckets = opts.buckets ?? DEFAULT_LATENCY_BUCKETS;
    this.requests = m.counter(
      'airlock_connector_requests_total',
      'JSON-RPC requests from agents that entered the gateway, by method',
      ['method'],
    );
    this.refusals = m.counter(
      'airlock_connector_refusals_total',
      'Requests refused by a gateway stage, by stage and AIRLOCK_* code',
      ['stage', 'code'],
    );
    this.upstreamLatency = m.histogram(
      'airlock_connector_upstream_latency_seconds',
      'Time spent in the upstream MCP server per forwarded request',
      ['upstream', 'method'],
      buckets,
    );
    this.stageDuration = m.histogram(
      'airlock_connector_stage_duration_seconds',
      'Time spent in a gateway stage (stages that report their duration)',
      ['stage'],
      buckets,
    );
    snapshotGauges(m, source);
    auditGauges(m, source);
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#onDecision = (message) => this.#record(message as DecisionMessage);
    diagnosticsChannel.subscribe(DECISION_CHANNEL, this.#onDecision);
  }

  #record(message: DecisionMessage): void {
    const { decision, method } = message;
    if (decision.stage === 'authenticate') this.requests.inc({ method });
    if (decision.outcome === 'deny') {
      this.refusals.inc({ stage: decision.stage, code: decision.code ?? 'unknown' });
    }
    const latencyMs = numberOf(decision.detail?.latencyMs);
    if (decision.stage === 'upstream' && latencyMs !== undefined) {
      const upstream = typeof decision.detail?.upstream === 'string' ? decision.detail.upstream : '';
      this.upstreamLatency.observe({ upstream, method }, latencyMs / 1000);
    }
    const durationMs = numberOf(decision.detail?.durationMs);
    if (durationMs !== undefined) this.stageDuration.observe({ stage: decision.stage }, durationMs / 1000);
  }

  /** Stops listening to the decision channel. */
  close(): void {
    diagnosticsChannel.unsubscribe(DECISION_CHANNEL, this.#onDecision);
  }
}

/** Tunnels, upstreams, sessions and approvals, read from the running connector at each scrape. */
function snapshotGauges(m: MetricFactory, source: HealthSource): void {
  m.gauge('airlock_connector_tunnels', 'Tunnel slots to the relay, by state', ['state'], (g) => {
    for (const t of source.tunnels() ?? []) g.inc({ state: t.state });
  });
  m.gauge(
    'airlock_connector_upstream_up',
    'Whether an upstream MCP server is ready (1) or not (0); sandboxed: stdio child inside bubblewrap',
    ['upstream', 'kind', 'sandboxed'],
    (g) => {
      for (const u of source.upstreams()) {
        const sandboxed = u.sandboxed === undefined ? 'n/a' : String(u.sandboxed);
        g.set({ upstream: u.name, kind: u.kind, sandboxed }, u.state === 'ready' ? 1 : 0);
      }
    },
  );
  m.gauge(
    'airlock_connector_upstream_restarts',
    'Restarts of an upstream MCP server since the connector started',
    ['upstream'],
    (g) => {
      for (const u of source.upstreams()) g.set({ upstream: u.name }, u.restarts);
    },
  );
  m.gauge('airlock_connector_sessions', 'Open agent MCP sessions', [], (g) =>
    g.set(source.sessions?.() ?? 0),
  );
  m.gauge('airlock_connector_approvals_pending', 'Tool calls waiting for a human decision', [], async (g) => {
    g.set((await source.pendingApprovals?.().catch(() => undefined)) ?? 0);
  });
}

/** The audit trail and its witnesses, read at each scrape. */
function auditGauges(m: MetricFactory, source: HealthSource): void {
  m.gauge(
    'airlock_connector_audit_available',
    'Whether the audit trail can be written (0: every call is refused)',
    [],
    (g) => g.set(source.audit?.().available === false ? 0 : 1),
  );
  m.gauge(
    'airlock_connector_audit_checkpoint_lag_entries',
    'Audit entries not yet covered by a signed checkpoint',
    [],
    (g) => {
      const stats = source.audit?.();
      g.set(stats ? Math.max(0, stats.head.seq - stats.checkpointedTreeSize) : 0);
    },
  );
  m.gauge(
    'airlock_connector_witness_lag_entries',
    'Checkpointed audit entries a witness has not acknowledged yet',
    ['witness'],
    (g) => {
      const stats = source.audit?.();
      const checkpointed = stats?.checkpointedTreeSize ?? 0;
      for (const w of stats?.witnesses ?? []) {
        g.set({ witness: w.witness }, Math.max(0, checkpointed - w.witnessedTreeSize));
      }
    },
  );
  m.gauge(
    'airlock_connector_witness_failures',
    'Failed deliveries of checkpoints to a witness',
    ['witness'],
    (g) => {
      for (const w of source.audit?.().witnesses ?? []) g.set({ witness: w.witness }, w.failures);
    },
  );
}
