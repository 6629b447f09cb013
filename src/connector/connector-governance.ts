/**
 * The connector's governance: the policy in force (hot-reloaded), tool pinning and the kill switch,
 * the PII vault, and the approval queue — everything the gateway stages consult per request.
 *
 * @example
 * const gov = await openGovernance(ctx, store, catalog, { logger, audit });
 * const stages = gatewayStages({ identities: store.identities, audit, ...gov.stageDeps });
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ApprovalQueue } from '../approvals/approval-queue.js';
import { ToolPinning } from '../catalog/tool-pinning.js';
import type { GatewayStageDeps } from '../gateway/gateway-stages.js';
import { piiStage } from '../gateway/stages/pii-stage.js';
import type { UpstreamCatalog } from '../mcp/upstream-catalog.js';
import { PiiBoundary } from '../pii/pii-boundary.js';
import { PiiVault } from '../pii/pii-vault.js';
import { loadTenantPiiKeys, type TenantPiiKeys } from '../pii/tenant-pii-keys.js';
import { type LoadedPolicy, parsePolicy } from '../policy/policy-loader.js';
import { type PolicyChange, type PolicyWatcher, watchPolicy } from '../policy/policy-watcher.js';
import type { Store } from '../store/store.js';
import { type AdminActionLedger, recordAdminAction } from './admin-audit.js';
import { CloseStack } from './close-stack.js';
import type { ConnectorContext } from './connector-context.js';

/** The policy when none is configured: no identity has a role, so every call is refused. */
const NO_POLICY = 'version: 1\n';

export interface Governance {
  /** The policy in force. */
  current(): LoadedPolicy;
  watcher: PolicyWatcher | undefined;
  pinning: ToolPinning;
  approvals: ApprovalQueue;
  vault: PiiVault;
  /** The redaction boundary every message towards an agent passes (the pii stage redacts with it too). */
  outbound: PiiBoundary;
  stageDeps: Required<Pick<GatewayStageDeps, 'policy' | 'pinning' | 'approvals' | 'pii'>>;
  close(): Promise<void>;
}

export interface GovernanceOptions {
  logger: Logger;
  tenant: string;
  audit?: AdminActionLedger;
}

/** The policy in force: hot-reloaded from `policy.file` (each change audited), or none that grants nothing. */
async function openPolicy(
  ctx: ConnectorContext,
  store: Store,
  options: GovernanceOptions,
  opened: CloseStack,
): Promise<{ watcher: PolicyWatcher | undefined; current: () => LoadedPolicy }> {
  const { logger } = options;
  if (!ctx.config.policy) {
    const fixed = parsePolicy(NO_POLICY, '<no policy file>');
    logger.warn('no policy file configured: every tool call is refused (set "policy.file")');
    return { watcher: undefined, current: () => fixed };
  }
  const watcher = await watchPolicy({
    file: ctx.resolvePath(ctx.config.policy.file),
    store: store.policyVersions,
    logger: logger.child({ part: 'policy' }),
  });
  opened.defer(() => watcher.close());
  watcher.on('error', (err: Error) =>
    logger.error({ err: err.message }, 'policy change refused; the previous policy stays in force'),
  );
  const audit = options.audit;
  if (audit) {
    watcher.on('change', (change: PolicyChange) => {
      void recordAdminAction(audit, {
        action: 'policy.change',
        actor: 'connector',
        target: change.current.hash,
        detail: { previous: change.previous?.hash ?? null, source: change.current.source },
      }).catch((err: unknown) => logger.error({ err }, 'policy change could not be audited'));
    });
  }
  return { watcher, current: () => watcher.current };
}

/** The persisted approval queue; arguments of held calls are sealed at rest with the tenant's vault key. */
function openApprovals(
  ctx: ConnectorContext,
  store: Store,
  vaultKey: TenantPiiKeys['vaultKey'],
  options: GovernanceOptions,
): ApprovalQueue {
  const webhook = ctx.config.approvals.webhook;
  return new ApprovalQueue({
    repository: store.approvals,
    argumentsKey: { tenant: options.tenant, key: vaultKey },
    holdMs: ctx.config.approvals.holdMs,
    expiryMs: ctx.config.approvals.expiryMs,
    // `webhook.consoleUrl` (connector.yaml) puts a link to the approval in the message.
    ...(webhook ? { webhook } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
    logger: options.logger.child({ part: 'approvals' }),
  });
}

export async function openGovernance(
  ctx: ConnectorContext,
  store: Store,
  catalog: UpstreamCatalog,
  options: GovernanceOptions,
): Promise<Governance> {
  const { logger } = options;
  const opened = new CloseStack();
  try {
    const { watcher, current } = await openPolicy(ctx, store, options, opened);
    const policy = () => current().engine;

    const pinning = new ToolPinning({
      store: store.catalog,
      catalog,
      mode: () => policy().catalogMode,
      logger: logger.child({ part: 'catalog-pinning' }),
    });
    await pinning.start();
    opened.defer(() => pinning.close());

    const keys = await loadTenantPiiKeys({
      path: join(ctx.dataDir, 'pii', 'vault-key.json'),
      tenant: options.tenant,
      create: true,
    });
    const approvals = openApprovals(ctx, store, keys.vaultKey, options);
    opened.defer(() => approvals.close());

    const vault = new PiiVault({ tenant: options.tenant, keys, repository: store.vault });
    // One boundary for the stage and the endpoint; it follows the policy in force (hot reload).
    const outbound = new PiiBoundary({ vault, policy: () => current().policy.pii });
    const pii = piiStage({ vault, boundary: outbound });

    return {
      current,
      watcher,
      pinning,
      approvals,
      vault,
      outbound,
      stageDeps: { policy, pinning, approvals, pii },
      close: () => opened.close(),
    };
  } catch (err) {
    await opened.close().catch(() => undefined);
    throw err;
  }
}
