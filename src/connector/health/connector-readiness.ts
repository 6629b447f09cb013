/**
 * The connector's readiness: what `/readyz` answers and `airlock status` prints. Ready means agents can
 * be served now: at least one tunnel to the relay is up (when a relay is configured), every required
 * upstream is ready, the audit trail can be written, and the connector is not shutting down.
 *
 * @example
 * const report = await readinessReport(source, { requiredUpstreams: ['erp'] });
 * report.ready; // false
 * report.reasons; // ['no tunnel to the relay is up (0/2)']
 */
import type { AuditLedgerStats } from '../../audit/audit-ledger.js';
import type { UpstreamStatus } from '../../mcp/upstream.js';

/** Longest `lastError` text put in a report (errors may quote long paths or URLs). */
export const DEFAULT_READINESS_ERROR_MAX_CHARS = 200;

/** Where the report's facts come from (the running connector). */
export interface HealthSource {
  tenant: string;
  tenantHost: string;
  /** Tunnel slots, or `undefined` when no relay is configured (direct listener only). */
  tunnels(): Array<{ slot: number; state: string; transport?: string; lastError?: string }> | undefined;
  upstreams(): UpstreamStatus[];
  sessions?(): number;
  pendingApprovals?(): Promise<number>;
  audit?(): AuditLedgerStats;
  /** True once shutdown began. */
  draining?(): boolean;
}

export interface ReadinessOptions {
  /** Upstreams that must be ready. Default: every configured upstream. */
  requiredUpstreams?: readonly string[];
}

export interface UpstreamReadiness {
  name: string;
  kind: 'stdio' | 'http';
  state: string;
  required: boolean;
  restarts: number;
  sandboxed?: boolean;
  lastError?: string;
}

export interface WitnessReadiness {
  witness: string;
  witnessedTreeSize: number;
  pending: number;
  failures: number;
  lastError?: string;
}

export interface ReadinessReport {
  ready: boolean;
  /** Why it is not ready, one short sentence each (empty when ready). */
  reasons: string[];
  tenant: string;
  tenantHost: string;
  tunnels: {
    configured: boolean;
    up: number;
    total: number;
    slots: Array<{ slot: number; state: string; transport?: string; lastError?: string }>;
  };
  upstreams: UpstreamReadiness[];
  sessions: number;
  approvalsPending: number | undefined;
  audit:
    | { available: boolean; headSeq: number; checkpointedTreeSize: number; witnesses: WitnessReadiness[] }
    | undefined;
  draining: boolean;
}

function clip(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.length > DEFAULT_READINESS_ERROR_MAX_CHARS
    ? `${text.slice(0, DEFAULT_READINESS_ERROR_MAX_CHARS)}…`
    : text;
}

function upstreamReadiness(u: UpstreamStatus, required: boolean): UpstreamReadiness {
  const out: UpstreamReadiness = {
    name: u.name,
    kind: u.kind,
    state: u.state,
    required,
    restarts: u.restarts,
  };
  if (u.sandboxed !== undefined) out.sandboxed = u.sandboxed;
  const lastError = clip(u.lastError);
  if (lastError !== undefined && u.state !== 'ready') out.lastError = lastError;
  return out;
}

function auditReadiness(stats: AuditLedgerStats | undefined): ReadinessReport['audit'] {
  if (!stats) return undefined;
  return {
    available: stats.available,
    headSeq: stats.head.seq,
    checkpointedTreeSize: stats.checkpointedTreeSize,
    witnesses: stats.witnesses.map((w) => ({
      witness: w.witness,
      witnessedTreeSize: w.witnessedTreeSize,
      pending: w.pending,
      failures: w.failures,
      ...(w.lastError ? { lastError: clip(w.lastError) } : {}),
    })),
  };
}

/** Builds the report; see the module comment for what "ready" means. */
export async function readinessReport(
  source: HealthSource,
  opts: ReadinessOptions = {},
): Promise<ReadinessReport> {
  const reasons: string[] = [];
  const slots = source.tunnels();
  const tunnels = {
    configured: slots !== undefined,
    up: (slots ?? []).filter((t) => t.state === 'up').length,
    total: slots?.length ?? 0,
    slots: (slots ?? []).map((t) => ({ ...t, ...(t.lastError ? { lastError: clip(t.lastError) } : {}) })),
  };
  if (tunnels.configured && tunnels.up === 0) {
    reasons.push(`no tunnel to the relay is up (0/${tunnels.total})`);
  }
  const required = new Set(opts.requiredUpstreams ?? source.upstreams().map((u) => u.name));
  const upstreams = source.upstreams().map((u) => upstreamReadiness(u, required.has(u.name)));
  for (const u of upstreams) {
    if (u.required && u.state !== 'ready') reasons.push(`upstream ${u.name} is ${u.state}`);
  }
  const audit = auditReadiness(source.audit?.());
  if (audit && !audit.available) reasons.push('the audit trail cannot be written');
  const draining = source.draining?.() === true;
  if (draining) reasons.push('shutting down');
  let approvalsPending: number | undefined;
  try {
    approvalsPending = await source.pendingApprovals?.();
  } catch {
    reasons.push('the store cannot be read');
  }
  return {
    ready: reasons.length === 0,
    reasons,
    tenant: source.tenant,
    tenantHost: source.tenantHost,
    tunnels,
    upstreams,
    sessions: source.sessions?.() ?? 0,
    approvalsPending,
    audit,
    draining,
  };
}
