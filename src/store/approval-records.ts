/** The human approval queue (see `store.ts`). All times are epoch milliseconds. */
import type { ApprovalOverrideRepository } from './approval-override-records.js';

/** `pending` waits for a person; `expired` was never decided (or an approval was never used) in time. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** One request in the human approval queue. */
export interface ApprovalRecord {
  /** Random id shown to agents, supervisors and the CLI. */
  id: string;
  /** Identity name of the requester (the agent, or the token subject). */
  identity: string;
  spiffeId: string;
  /** Namespaced tool name. */
  tool: string;
  /** Hex SHA-256 of the canonical JSON of `arguments`: the approval is bound to it. */
  argsHash: string;
  /** JSON text of the validated arguments (kept on the connector for the supervisor to review). */
  arguments: string;
  /** Policy tier that sent the call here, usually `approve`. */
  tier: string;
  sessionId: string | null;
  status: ApprovalStatus;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  /** Who approved or denied it (console account or CLI operator). */
  decidedBy: string | null;
  reason: string | null;
  /** When the decision was delivered to the agent; an approval runs exactly one call. */
  consumedAt: number | null;
  /** A two-person (or more) rule: null (or absent) when one approval decides. */
  quorum?: ApprovalQuorumSpec | null;
  /** Decisions so far on a request with a quorum, oldest first (one per principal). */
  votes?: ApprovalVoteRecord[];
}

/** `count` distinct principals must approve, console accounts of `roles` when given. */
export interface ApprovalQuorumSpec {
  count: number;
  roles?: string[];
}

/** One principal's decision on a request with a quorum; each principal decides at most once. */
export interface ApprovalVoteRecord {
  /** Principal id (`console:<account>`, `local:<uid>@<host>`). */
  principal: string;
  /** Display name. */
  name: string;
  /** The principal's role when it decided (`admin` for `local:`). */
  role: string | null;
  decision: 'approved' | 'denied';
  reason: string | null;
  votedAt: number;
}

export type NewApprovalRecord = Omit<
  ApprovalRecord,
  'status' | 'decidedAt' | 'decidedBy' | 'reason' | 'consumedAt' | 'votes'
>;

/** `ok` with the request after the vote: still `pending` (more approvals needed), `approved` or `denied`. */
export type VoteApprovalResult =
  | { ok: true; approval: ApprovalRecord }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'decided' | 'expired' | 'duplicate'; approval: ApprovalRecord };

export type DecideApprovalResult =
  | { ok: true; approval: ApprovalRecord }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'decided' | 'expired'; approval: ApprovalRecord };

export interface ApprovalRepository {
  createApproval(record: NewApprovalRecord): Promise<ApprovalRecord>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  /** Newest pending-or-undelivered, unexpired request for this binding. */
  findOpenApproval(
    identity: string,
    tool: string,
    argsHash: string,
    now: number,
  ): Promise<ApprovalRecord | undefined>;
  /** Newest first. */
  listApprovals(opts?: {
    status?: readonly ApprovalStatus[];
    tool?: string;
    identity?: string;
    limit?: number;
  }): Promise<ApprovalRecord[]>;
  countApprovals(status: ApprovalStatus): Promise<number>;
  /** Atomically decides a pending, unexpired request (exactly one decision wins). */
  decideApproval(
    id: string,
    decision: { status: 'approved' | 'denied'; decidedBy: string; reason: string | null; decidedAt: number },
  ): Promise<DecideApprovalResult>;
  /** Atomically marks a decided request delivered; true for exactly one caller. */
  consumeApproval(id: string, now: number): Promise<boolean>;
  /** Expires pending and unused approved requests past their expiry; returns how many. */
  expireApprovals(now: number): Promise<number>;
  /**
   * Records one principal's vote on a pending request with a quorum (exactly once per principal,
   * serialized per request): a denial decides at once, the `required`-th distinct approval approves.
   */
  voteApproval(id: string, vote: ApprovalVoteRecord, required: number): Promise<VoteApprovalResult>;
  /** Break-glass overrides of `block` (src/approvals/block-overrides.ts). */
  readonly overrides: ApprovalOverrideRepository;
}
