/**
 * The connector's audit trail, assembled from its config: the audit key from `<dataDir>/audit/`
 * (generated on first start, never leaves the connector), an `AuditLedger` on the connector store,
 * the relay as witness whenever a relay is configured (plus `audit.witnesses`), the live sinks of
 * `audit.sinks` and `audit.retention`. The connector records its own start and stop.
 *
 * Start-up check: before it serves, the connector asks its witnesses what they cosigned last and
 * verifies the stored trail against that and its own checkpoints (`AuditLedger.open`); a trail that
 * does not verify throws `AIRLOCK_AUDIT_TAMPERED` (the connector does not start) with what to run.
 * Unreachable witnesses do not stop the start; they are caught up (and checked) by the witness queue.
 *
 * `withAdminAuditLedger` opens a second, short-lived ledger on the same store for CLI commands
 * (identity issue/revoke, enrollment): every writer appends to one chain under the trail's writer
 * lock, and only the holder of the signer lease (the running connector, when one runs) signs checkpoints.
 *
 * @example
 * const audit = await openConnectorAudit(ctx, store, { logger });
 * const stages = gatewayStages({ identities: store.identities, audit: audit.ledger });
 * // ...
 * await audit.close();
 */
import { readFile } from 'node:fs/promises';
import { type Logger, pino } from 'pino';
import { type AuditSigningKey, loadOrCreateAuditKey } from '../audit/audit-key.js';
import { AuditLedger } from '../audit/audit-ledger.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { WitnessView } from '../audit/audit-verify.js';
import { OtlpLogSink } from '../audit/otlp-sink.js';
import { SyslogSink } from '../audit/syslog-sink.js';
import type { Store } from '../store/store.js';
import { type AdminActionInput, recordAdminAction } from './admin-audit.js';
import { type ConnectorWitnessSet, connectorWitnesses } from './audit-witnesses.js';
import type { ConnectorContext } from './connector-context.js';
import type { RelayAuditWitness } from './relay-audit-witness.js';

export { connectorRelayClient } from './audit-witnesses.js';

/** How often retention (`audit.retention`) looks for entries to prune. */
export const DEFAULT_AUDIT_RETENTION_CHECK_MS = 3_600_000;

export interface ConnectorAudit {
  readonly ledger: AuditLedger;
  /** The relay's witness, when a relay is configured and the connector enrolled. */
  readonly relayWitness: RelayAuditWitness | undefined;
  /** Records `connector.stop`, signs a final checkpoint, lets witnesses and sinks drain, stops. */
  close(): Promise<void>;
}

export interface OpenConnectorAuditOptions {
  logger?: Logger;
  /** HTTP CONNECT proxy for the relay witness (default: the environment). */
  proxy?: string;
  /** `close()` gives witnesses and sinks this long (default: the ledger's, 2 s). */
  drainMs?: number;
}

/** The tenant name recorded in entries and checkpoints. */
export function auditTenant(ctx: ConnectorContext): string {
  return ctx.credential?.tenant ?? ctx.tenantHost?.split('.')[0] ?? 'default';
}

async function configuredSinks(ctx: ConnectorContext): Promise<AuditSink[]> {
  const sinks: AuditSink[] = [];
  const { syslog, otlp } = ctx.config.audit.sinks;
  if (syslog) {
    const ca = syslog.caFile ? await readFile(ctx.resolvePath(syslog.caFile), 'utf8') : undefined;
    sinks.push(
      new SyslogSink({
        host: syslog.host,
        port: syslog.port,
        ...(syslog.tls ? { tls: { servername: syslog.host, ...(ca ? { ca } : {}) } } : {}),
      }),
    );
  }
  if (otlp)
    sinks.push(
      new OtlpLogSink({ endpoint: otlp.endpoint, ...(otlp.headers ? { headers: otlp.headers } : {}) }),
    );
  return sinks;
}

/**
 * Opens the connector's audit trail and records `connector.start`. Throws `AuditError`
 * (`AIRLOCK_AUDIT_UNAVAILABLE`, `AIRLOCK_AUDIT_KEY`) when the trail cannot be opened or written:
 * the connector then does not start (fail closed).
 */
export async function openConnectorAudit(
  ctx: ConnectorContext,
  store: Store,
  opts: OpenConnectorAuditOptions = {},
): Promise<ConnectorAudit> {
  const logger = (opts.logger ?? pino({ level: 'silent' })).child({ part: 'audit' });
  const key = await loadOrCreateAuditKey(ctx.dataDir);
  const tenant = auditTenant(ctx);
  const set = await connectorWitnesses(ctx, tenant, { key, ...(opts.proxy ? { proxy: opts.proxy } : {}) });
  const relayWitness = set.relayWitness;
  const releaseClients = () => set.close();
  const { ledger, witnessViews } = await openLedger({ ctx, store, key, tenant, set, logger });
  const target = ctx.credential?.connectorId ?? ctx.tenantHost ?? null;
  const lifecycle = (action: AdminActionInput['action']) =>
    recordAdminAction(ledger, {
      action,
      actor: 'connector',
      target,
      detail: { pid: process.pid, auditKeyId: key.keyId, tenantHost: ctx.tenantHost ?? null },
    });
  try {
    await lifecycle('connector.start');
    await noteUnwitnessedTail(ledger, witnessViews, logger);
  } catch (err) {
    await ledger.close({ drainMs: 0 }).catch(() => undefined);
    await releaseClients();
    throw err;
  }
  // Register the key with the relay now rather than at the first checkpoint (retried with it otherwise).
  relayWitness?.ensureKeyRegistered().catch((err: unknown) => {
    logger.warn({ err: (err as Error).message }, 'audit key not registered with the relay yet; will retry');
  });
  const stopRetention = startRetention(ctx, ledger, logger);
  let closed = false;
  return {
    ledger,
    relayWitness,
    async close() {
      if (closed) return;
      closed = true;
      stopRetention();
      await lifecycle('connector.stop').catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'connector.stop not audited'),
      );
      await ledger.close(opts.drainMs !== undefined ? { drainMs: opts.drainMs } : {});
      await releaseClients();
    },
  };
}

/** The ledger on the store, checked against what the witnesses cosigned; sinks closed if it fails. */
async function openLedger(o: {
  ctx: ConnectorContext;
  store: Store;
  key: AuditSigningKey;
  tenant: string;
  set: ConnectorWitnessSet;
  logger: Logger;
}): Promise<{ ledger: AuditLedger; witnessViews: WitnessView[] }> {
  const { ctx, logger } = o;
  const sinks = await configuredSinks(ctx);
  try {
    const witnessViews = await o.set.views(o.tenant);
    for (const v of witnessViews.filter((w) => w.error)) {
      logger.warn({ witness: v.name, err: v.error }, 'audit witness not reachable for the start-up check');
    }
    const ledger = await AuditLedger.open({
      repository: o.store.audit,
      tenant: o.tenant,
      key: o.key,
      checkpointEvery: ctx.config.audit.checkpointEvery,
      checkpointIntervalMs: ctx.config.audit.checkpointIntervalMs,
      witnesses: o.set.witnesses,
      witnessViews,
      witnessQueue: {
        onRefused: (cp, err) =>
          logger.error(
            { treeSize: cp.treeSize, err: (err as Error).message },
            'an audit witness refused a checkpoint: investigate (history rewritten, or a key it does not know)',
          ),
      },
      onDiverged: (err) => logger.error({ err: err.message }, 'audit trail diverged from a witness'),
      sinks,
      logger,
    });
    return { ledger, witnessViews };
  } catch (err) {
    await Promise.all(sinks.map((s) => s.close(0).catch(() => undefined)));
    await o.set.close();
    throw err;
  }
}

/**
 * `audit.retention`: prunes old entries now and every `DEFAULT_AUDIT_RETENTION_CHECK_MS`, on the
 * member that signs checkpoints (the prune record's checkpoint goes with it). Returns the stop function.
 */
function startRetention(ctx: ConnectorContext, ledger: AuditLedger, logger: Logger): () => void {
  const retention = ctx.config.audit.retention;
  if (!retention) return () => {};
  const prune = () => {
    if (!ledger.checkpointSigner) return;
    ledger.prune({ olderThan: Date.now() - retention.olderThan }).then(
      (r) => {
        if (r.prunedCount > 0)
          logger.info({ pruned: r.prunedCount, through: r.prunedThroughSeq }, 'audit entries pruned');
      },
      (err: unknown) => logger.warn({ err: (err as Error).message }, 'audit retention failed'),
    );
  };
  prune();
  const timer = setInterval(prune, DEFAULT_AUDIT_RETENTION_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * After a crash, entries the witnesses had not cosigned yet are vouched for by the audit key alone:
 * the connector says so in the trail itself (`audit.unwitnessed-tail`, with the range), so that an
 * auditor knows exactly which entries a key holder could have rewritten while it was down.
 */
async function noteUnwitnessedTail(ledger: AuditLedger, views: WitnessView[], logger: Logger): Promise<void> {
  const reached = views.filter((v) => v.error === undefined);
  if (reached.length === 0) return;
  const witnessed = Math.max(...reached.map((v) => v.checkpoint?.treeSize ?? 0));
  const before = ledger.head.seq - 1; // the connector.start entry just written
  if (before <= witnessed) return;
  logger.warn(
    { from: witnessed + 1, to: before },
    'audit entries written before the restart were not witnessed',
  );
  await recordAdminAction(ledger, {
    action: 'audit.unwitnessed-tail',
    actor: 'connector',
    target: `${witnessed + 1}..${before}`,
    reason: 'entries of the previous run that no witness had cosigned (crash or witness outage)',
  });
}

/**
 * Runs `fn` with a short-lived ledger on the connector store (no witnesses, no timers), for admin
 * actions taken outside the running connector (the CLI). The running connector's witnesses pick up
 * the entries with its next checkpoint.
 *
 * @example
 * await withAdminAuditLedger(ctx, store, (ledger) =>
 *   recordAdminAction(ledger, { action: 'identity.revoke', actor: cliActor(), target: 'claims-bot' }));
 */
export async function withAdminAuditLedger<T>(
  ctx: ConnectorContext,
  store: Store,
  fn: (ledger: AuditLedger) => Promise<T>,
  opts: { tenant?: string } = {},
): Promise<T> {
  const ledger = await AuditLedger.open({
    repository: store.audit,
    tenant: opts.tenant ?? auditTenant(ctx),
    key: await loadOrCreateAuditKey(ctx.dataDir),
    checkpointIntervalMs: 0,
    checkpointEvery: ctx.config.audit.checkpointEvery,
  });
  try {
    return await fn(ledger);
  } finally {
    await ledger.close({ drainMs: 0 });
  }
}
