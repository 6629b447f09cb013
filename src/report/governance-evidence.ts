/**
 * Question 3 (the unit of authentication) and the governance behind it, read from the store: the
 * policy in force and its history, agent identities with the roles the policy gives them, console
 * accounts, the tool catalog with pins, drift and the kill switch, and the approval queue over the
 * period. Only calls to the store's repositories and the existing catalog and policy code.
 *
 * @example
 * const policy = await collectPolicyEvidence(store, scope, commands);
 */
import { CatalogAdmin } from '../catalog/catalog-admin.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import { type LoadedPolicy, parsePolicy } from '../policy/policy-loader.js';
import type { Store } from '../store/store.js';
import type {
  ApprovalEvidence,
  CatalogEvidence,
  IdentityEvidence,
  PolicyEvidence,
  ReportScope,
} from './report-model.js';
import { inWindow } from './report-model.js';
import type { reproduce } from './reproduce-commands.js';

/** Most policy versions, catalog events and approvals a report lists. */
export const DEFAULT_REPORT_LIST_LIMIT = 1000;

type Commands = ReturnType<typeof reproduce>;

/** The upstream a namespaced tool belongs to (`erp.lookup` → `erp`), given the upstream names. */
export function upstreamOfTool(tool: string, upstreams: readonly string[], separator: string): string | null {
  for (const name of upstreams) if (tool.startsWith(`${name}${separator}`)) return name;
  return upstreams.length === 1 ? (upstreams[0] ?? null) : null;
}

function parseStored(text: string, source: string): LoadedPolicy | undefined {
  try {
    return parsePolicy(text, source);
  } catch {
    return undefined;
  }
}

/** The policy version in force (the latest the store recorded), its history and its roles. */
export async function collectPolicyEvidence(
  store: Store,
  scope: ReportScope,
  commands: Commands,
): Promise<{ evidence: PolicyEvidence; engine: PolicyEngine | undefined }> {
  const latest = await store.policyVersions.latestPolicyVersion();
  const versions = await store.policyVersions.listPolicyVersions({ limit: DEFAULT_REPORT_LIST_LIMIT });
  const view = (v: { seq: number; hash: string; source: string; loadedAt: number }) => ({
    seq: v.seq,
    hash: v.hash,
    source: v.source,
    loadedAt: v.loadedAt,
  });
  const loaded = latest ? parseStored(latest.text, latest.source) : undefined;
  const policy = loaded?.policy;
  return {
    engine: loaded?.engine,
    evidence: {
      current: latest ? view(latest) : null,
      history: versions.filter((v) => inWindow(scope, v.loadedAt) || v.seq === latest?.seq).map(view),
      roles: Object.entries(policy?.roles ?? {}).map(([name, role]) => ({
        name,
        description: role.description ?? null,
        tools: role.tools,
      })),
      bindings: (policy?.identities ?? []).map((entry) => ({
        selector:
          entry.name !== undefined
            ? `name=${entry.name}`
            : entry.spiffeId !== undefined
              ? `spiffeId=${entry.spiffeId}`
              : entry.subject !== undefined
                ? `subject=${entry.subject}${entry.issuer ? ` (issuer ${entry.issuer})` : ''}`
                : `clientId=${entry.clientId ?? ''}${entry.issuer ? ` (issuer ${entry.issuer})` : ''}`,
        roles: entry.roles,
      })),
      catalogMode: policy?.catalog.mode ?? null,
      reproduce: commands.policy,
    },
  };
}

/** Agent identities (with their roles under the current policy) and console accounts. */
export async function collectIdentityEvidence(
  store: Store,
  engine: PolicyEngine | undefined,
  scope: ReportScope,
  commands: Commands,
): Promise<IdentityEvidence> {
  const identities = await store.identities.listIdentities();
  const accounts = await store.adminAccounts.listAdminAccounts();
  return {
    agents: identities
      .filter((i) => scope.agent === undefined || i.name === scope.agent)
      .map((i) => ({
        name: i.name,
        spiffeId: i.spiffeId,
        certSerial: i.certSerial,
        certFingerprint: i.certFingerprint,
        notAfter: i.notAfter,
        revokedAt: i.revokedAt,
        roles: engine?.rolesFor({ authenticatedBy: 'mtls', name: i.name, spiffeId: i.spiffeId }) ?? [],
      })),
    consoleAccounts: accounts.map((a) => ({
      name: a.name,
      role: a.role,
      revealPii: a.revealPii,
      disabledAt: a.disabledAt,
    })),
    reproduce: commands.identities,
  };
}

/** Every tool the connector has seen: pin state, drift, kill switch; catalog events in the period. */
export async function collectCatalogEvidence(
  store: Store,
  scope: ReportScope,
  upstreamOf: (tool: string) => string | null,
  commands: Commands,
): Promise<CatalogEvidence> {
  const entries = await new CatalogAdmin({ store: store.catalog }).listCatalog();
  const events = await store.catalog.listCatalogEvents({ limit: DEFAULT_REPORT_LIST_LIMIT });
  const wanted = (tool: string) => scope.upstream === undefined || upstreamOf(tool) === scope.upstream;
  return {
    tools: entries
      .filter((e) => wanted(e.tool))
      .map((e) => ({
        tool: e.tool,
        upstream: upstreamOf(e.tool),
        status: e.status,
        approvedHash: e.approvedHash,
        observedHash: e.observedHash,
        approvedBy: e.approvedBy,
        drift: e.approvedHash !== null && e.observedHash !== null && e.approvedHash !== e.observedHash,
        killSwitch: e.disabled
          ? { reason: e.disabled.reason, by: e.disabled.disabledBy, at: e.disabled.disabledAt }
          : null,
        findings: e.findings.length,
      })),
    events: events
      .filter((ev) => wanted(ev.tool) && inWindow(scope, ev.at))
      .map((ev) => ({ seq: ev.seq, tool: ev.tool, action: ev.action, actor: ev.actor, at: ev.at }))
      .sort((a, b) => a.seq - b.seq),
    reproduce: commands.catalog,
  };
}

/** Approval requests created in the period (arguments are never copied), with counts per status. */
export async function collectApprovalEvidence(
  store: Store,
  scope: ReportScope,
  upstreamOf: (tool: string) => string | null,
  commands: Commands,
): Promise<ApprovalEvidence> {
  const rows = await store.approvals.listApprovals({
    limit: DEFAULT_REPORT_LIST_LIMIT,
    ...(scope.agent ? { identity: scope.agent } : {}),
  });
  const items = rows
    .filter((r) => inWindow(scope, r.createdAt))
    .filter((r) => scope.upstream === undefined || upstreamOf(r.tool) === scope.upstream)
    .map((r) => ({
      id: r.id,
      identity: r.identity,
      tool: r.tool,
      tier: r.tier,
      status: r.status,
      createdAt: r.createdAt,
      decidedAt: r.decidedAt,
      decidedBy: r.decidedBy,
      reason: r.reason,
    }))
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  const counts: Record<string, number> = { pending: 0, approved: 0, denied: 0, expired: 0 };
  for (const item of items) counts[item.status] = (counts[item.status] ?? 0) + 1;
  return { items, counts, reproduce: commands.approvals };
}
