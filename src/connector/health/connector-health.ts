/**
 * The connector's operational surface in one piece: the {@link HealthSource} read from the running
 * parts, the Prometheus metrics, the `/healthz` `/readyz` `/metrics` routes for the admin listener and
 * the one-line start-up summary.
 *
 * @example
 * const health = connectorHealth({ tenant, tenantHost, supervisor, catalog, sessions, store, audit, logger });
 * await startConsole({ ...options, adminRoutes: health.routes });
 * health.logStartup({ console: url });
 * // on close: health.beginDrain(); ... health.close();
 */
import type { Logger } from 'pino';
import type { AuditLedger } from '../../audit/audit-ledger.js';
import type { UpstreamCatalog } from '../../mcp/upstream-catalog.js';
import type { Store } from '../../store/store.js';
import type { TunnelSupervisor } from '../tunnel-supervisor.js';
import { ConnectorMetrics } from './connector-metrics.js';
import { type HealthSource, type ReadinessReport, readinessReport } from './connector-readiness.js';
import { type HealthHandler, healthRoutes } from './health-routes.js';
import { logStartupSummary } from './startup-summary.js';

export interface ConnectorHealthParts {
  tenant: string;
  tenantHost: string;
  /** Absent without a relay (direct listener only). */
  supervisor: TunnelSupervisor | undefined;
  catalog: UpstreamCatalog;
  sessions: () => number;
  store: Store;
  audit: AuditLedger;
  logger: Logger;
}

export interface ConnectorHealth {
  readonly source: HealthSource;
  readonly metrics: ConnectorMetrics;
  /** For `startConsole({ adminRoutes })`. */
  readonly routes: HealthHandler;
  readiness(): Promise<ReadinessReport>;
  /** Logs `connector ready` once (see startup-summary.ts). */
  logStartup(fields?: Record<string, unknown>): void;
  /** From now on `/readyz` answers 503 (`shutting down`). */
  beginDrain(): void;
  close(): void;
}

/** Builds the health source, metrics and routes from the connector's running parts. */
export function connectorHealth(parts: ConnectorHealthParts): ConnectorHealth {
  let draining = false;
  let stopSummary: (() => void) | undefined;
  const { supervisor } = parts;
  const source: HealthSource = {
    tenant: parts.tenant,
    tenantHost: parts.tenantHost,
    tunnels: () =>
      supervisor?.status().tunnels.map((t) => ({
        slot: t.slot,
        state: t.state,
        transport: t.transport ?? '-',
        ...(t.lastError ? { lastError: t.lastError.message } : {}),
      })),
    upstreams: () => parts.catalog.status(),
    sessions: parts.sessions,
    pendingApprovals: () => parts.store.approvals.countApprovals('pending'),
    audit: () => parts.audit.stats(),
    draining: () => draining,
  };
  const metrics = new ConnectorMetrics(source);
  const readiness = () => readinessReport(source);
  return {
    source,
    metrics,
    routes: healthRoutes({ source, metrics }),
    readiness,
    logStartup(fields) {
      stopSummary ??= logStartupSummary(readiness, parts.logger, fields ? { fields } : {});
    },
    beginDrain() {
      draining = true;
    },
    close() {
      stopSummary?.();
      metrics.close();
    },
  };
}
