/**
 * What a person deciding an approval needs besides the arguments: the tool's title, description and
 * annotations from its pinned definition (the catalog), the policy rule that sent the call to
 * approval, the end user, the approvers so far, and the earlier DECIDED calls of the same identity and
 * tool to compare with (never another pending one).
 *
 * The rule and the end user are read from the approval record when it carries them (`rule`,
 * `ruleIndex`, `endUser`); otherwise the rule is what the policy in force decides now for the same
 * tool, agent and arguments, and the page says so.
 *
 * @example
 * const facts = await approvalFacts(record, { catalog: store.catalog, policy: watcher });
 */
import type { ApprovalQueue } from '../approvals/approval-queue.js';
import { ruleLabel } from '../policy/policy-engine.js';
import type { PolicyWatcher } from '../policy/policy-watcher.js';
import type { ApprovalRecord, CatalogRepository } from '../store/store.js';
import { parseArguments } from './approval-args.js';

/** Earlier decided calls considered for the comparison. */
export const DEFAULT_COMPARE_CANDIDATES = 50;

export interface ToolFacts {
  title: string | undefined;
  description: string | undefined;
  annotations: Record<string, unknown>;
  /** False when the tool has no approved definition yet (then the observed one is shown). */
  approved: boolean;
}

export interface RuleFacts {
  label: string;
  /** `record`: stored with the request; `policy`: the policy in force decides so now; `default`: no rule matched. */
  source: 'record' | 'policy' | 'default';
}

export interface ApprovalFacts {
  tool: ToolFacts | undefined;
  rule: RuleFacts | undefined;
  endUser: string | undefined;
  /** Principals that approved so far (multi-person rules: `record.votes`). */
  approvers: string[];
  /** Approvals needed in all (`record.quorum.count`); undefined when one approval decides. */
  required: number | undefined;
  /** Roles whose approvals count (`record.quorum.roles`), when the rule names them. */
  roles: string[] | undefined;
}

export interface ApprovalFactsSources {
  catalog: Pick<CatalogRepository, 'getToolPin'>;
  policy: PolicyWatcher | undefined;
}

/** Facts of one request (see the module comment). */
export async function approvalFacts(r: ApprovalRecord, src: ApprovalFactsSources): Promise<ApprovalFacts> {
  const extra = r as ApprovalRecord & {
    rule?: unknown;
    ruleIndex?: unknown;
    endUser?: unknown;
  };
  const endUser =
    typeof extra.endUser === 'string'
      ? extra.endUser
      : extra.endUser && typeof extra.endUser === 'object' && 'subject' in extra.endUser
        ? String((extra.endUser as { subject: unknown }).subject)
        : undefined;
  const approvers = (r.votes ?? []).filter((v) => v.decision === 'approved').map((v) => v.principal);
  return {
    tool: await toolFacts(r.tool, src.catalog),
    rule: ruleFacts(r, extra, src.policy),
    endUser,
    approvers,
    required: r.quorum?.count,
    roles: r.quorum?.roles,
  };
}

/** Title, description and annotations of the pinned definition of `tool`. */
export async function toolFacts(
  tool: string,
  catalog: Pick<CatalogRepository, 'getToolPin'>,
): Promise<ToolFacts | undefined> {
  const pin = await catalog.getToolPin(tool);
  if (!pin) return undefined;
  const text = pin.approvedDefinition ?? pin.observedDefinition;
  const def = parseArguments(text) as { title?: unknown; description?: unknown; annotations?: unknown };
  const annotations =
    def.annotations && typeof def.annotations === 'object'
      ? (def.annotations as Record<string, unknown>)
      : {};
  const title =
    typeof def.title === 'string'
      ? def.title
      : typeof annotations.title === 'string'
        ? annotations.title
        : undefined;
  return {
    title,
    description: typeof def.description === 'string' ? def.description : undefined,
    annotations,
    approved: pin.approvedDefinition !== null,
  };
}

function ruleFacts(
  r: ApprovalRecord,
  extra: { rule?: unknown; ruleIndex?: unknown },
  policy: PolicyWatcher | undefined,
): RuleFacts | undefined {
  if (typeof extra.rule === 'string' && typeof extra.ruleIndex === 'number') {
    return { label: ruleLabel({ name: extra.rule, index: extra.ruleIndex }), source: 'record' };
  }
  if (!policy) return undefined;
  try {
    const args = parseArguments(r.arguments);
    const decided = policy.engine.decideTier({
      tool: r.tool,
      arguments:
        args && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {},
      agent: r.spiffeId
        ? { authenticatedBy: 'mtls', name: r.identity, spiffeId: r.spiffeId }
        : { authenticatedBy: 'bearer', subject: r.identity },
      now: r.createdAt,
    });
    if (!decided.rule) return { label: `defaultTier (${decided.tier})`, source: 'default' };
    return { label: ruleLabel(decided.rule), source: 'policy' };
  } catch {
    return undefined;
  }
}

/** Earlier decided (approved or denied) calls of the same identity and tool, newest first. */
export async function decidedHistory(queue: ApprovalQueue, r: ApprovalRecord): Promise<ApprovalRecord[]> {
  const earlier = await queue.list({
    tool: r.tool,
    identity: r.identity,
    status: ['approved', 'denied'],
    limit: DEFAULT_COMPARE_CANDIDATES,
  });
  return earlier.filter((h) => h.id !== r.id && h.createdAt <= r.createdAt);
}
