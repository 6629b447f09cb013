/**
 * The connector's agent side: the `/mcp` endpoint behind the gateway stages, and the agent TLS
 * endpoint in front of it (tenant key, mTLS / OAuth / end-user authentication, revocation watch),
 * kept in step with governance changes and with the other members of a pair.
 *
 * @example
 * const { mcp, endpoint } = openAgentSide({ ctx, store, pki, tenantHost, catalog, governance, audit, signers, logger }, opened);
 */
import type { Logger } from 'pino';
import type { AuditLedger } from '../audit/audit-ledger.js';
import { gatewayStages } from '../gateway/gateway-stages.js';
import type { TenantPki } from '../identity/tenant-pki.js';
import { AgentMcpEndpoint } from '../mcp/agent-mcp-endpoint.js';
import { heldTaskStage, toolTaskSupport } from '../mcp/held-task-stage.js';
import type { UpstreamCatalog } from '../mcp/upstream-catalog.js';
import type { Store } from '../store/store.js';
import { AgentEndpoint } from './agent-endpoint.js';
import type { CloseStack } from './close-stack.js';
import { agentAuthFromConfig } from './connector-agent-auth.js';
import type { ConnectorContext } from './connector-context.js';
import type { Governance } from './connector-governance.js';
import type { UpstreamSigners } from './connector-upstreams.js';
import { followPairChanges } from './pair/pair-changes.js';

/** What the agent side is built from. */
export interface AgentSideParts {
  ctx: ConnectorContext;
  store: Store;
  pki: TenantPki;
  tenantHost: string;
  catalog: UpstreamCatalog;
  governance: Governance;
  audit: AuditLedger;
  signers: UpstreamSigners;
  logger: Logger;
}

export interface AgentSide {
  mcp: AgentMcpEndpoint;
  endpoint: AgentEndpoint;
}

/** The `/mcp` endpoint with every gateway stage; connected sessions learn when tools change. */
function openMcpEndpoint(p: AgentSideParts, opened: CloseStack): AgentMcpEndpoint {
  const { ctx, governance } = p;
  const mcp = new AgentMcpEndpoint({
    catalog: p.catalog,
    stages: [
      // First: a task-augmented call held for approval is answered as a task while the rest runs on.
      heldTaskStage({
        maxPendingPerIdentity: ctx.config.approvals.maxHeldTasksPerIdentity,
        taskSupport: toolTaskSupport(p.catalog),
      }),
      ...gatewayStages({
        identities: p.store.identities,
        audit: p.audit,
        approvalTokens: p.signers.approvalTokens,
        ...governance.stageDeps,
      }),
    ],
    maxRequestBodyBytes: ctx.config.mcp.maxRequestBytes,
    allowServerRequests: ctx.config.mcp.allowServerRequests,
    directCalls: ctx.config.mcp.directCalls,
    outbound: governance.outbound,
    upstreamHeaders: p.signers.upstreamHeaders,
    maxSessions: ctx.config.mcp.maxSessions,
    sessionIdleTimeoutMs: ctx.config.mcp.sessionIdleMs,
    logger: p.logger,
  });
  opened.defer(() => mcp.close());
  // Approvals, quarantines and the kill switch change what agents may see: tell connected sessions.
  const offPinning = governance.pinning.onChanged(() => mcp.notifyListChanged('tools'));
  opened.defer(() => offPinning());
  return mcp;
}

/**
 * Opens the agent side (closes deferred on `opened`); it does not listen yet: streams arrive from
 * tunnels (`endpoint.accept`) or from `endpoint.listen` for the direct listener.
 */
export function openAgentSide(p: AgentSideParts, opened: CloseStack): AgentSide {
  const { ctx, store, pki, logger } = p;
  const mcp = openMcpEndpoint(p, opened);
  const endpoint = new AgentEndpoint({
    tls: { keyPem: pki.serverKeyPem, certPem: pki.serverCertPem, caPem: pki.caCertPem },
    handler: mcp.nodeHandler,
    identities: store.identities,
    ...agentAuthFromConfig(ctx.config, p.tenantHost),
    limits: { revocationPollIntervalMs: ctx.config.agents.revocationPollMs },
    // A revoked identity loses its open sessions and streams too, not only its next request.
    onConnectionsClosed: (identity, reason) => {
      if (reason !== 'expired') void mcp.closeSessionsOf(identity.name);
    },
    logger,
  });
  opened.defer(() => endpoint.close());
  // Members of a pair share the store: apply the others' changes at once (src/connector/pair/).
  const { watcher, pinning, approvals } = p.governance;
  const stopPair = followPairChanges({ store, watcher, pinning, approvals, endpoint, logger });
  opened.defer(() => stopPair());
  return { mcp, endpoint };
}
