/**
 * The human approval queue: the `ApprovalHook` behind the gateway's `tier` stage, persisted in the
 * connector's store so a pending request survives a restart.
 *
 * How a call in the `approve` tier goes:
 *
 * 1. The request is bound to the identity, the tool and the SHA-256 of the canonical JSON of the
 *    validated arguments (`argsHash`). If an open request for that binding exists it is reused:
 *    approved → the call runs, and the approval is consumed atomically in the store (exactly one call
 *    runs per approval); denied → the supervisor's reason is returned (once); pending → the call
 *    waits on it. Otherwise a new `pending` request is written (expiry: `expiryMs`, default 24 h) and
 *    the optional webhook is notified (never waited for).
 * 2. The agent's call is held open for up to `holdMs` (default 30 s) with `notifications/progress`
 *    every `progressIntervalMs` (default 5 s). Decisions made here or announced by `wakeHeld` (the store's
 *    change feed) wake it at once; others are seen by polling the store every `pollIntervalMs` (250 ms).
 * 3. No decision in time → `pending` with the approval id: the agent is told to retry the same call
 *    later; the retry with the same identity, tool and arguments goes through once approved. A caller
 *    that listens (`onHold`, held as a task) hears when the hold starts and may `withdraw` the request.
 * Supervisors decide with `approve` / `deny` (the console and the CLI use them) as authenticated
 * principals (src/approvals/approval-principal.ts: `console:<account>`, `local:<uid>@<host>`).
 * Separation of duties compares principal ids (the requester is `agent:<spiffe id>`), never display
 * strings, and also refuses a display name that looks like the requester's (`AIRLOCK_APPROVAL_SELF`).
 * The approver's principal id, decision, reason and times are stored with the request and, when an
 * audit appender is given, appended to the audit trail (`approval.grant` / `approval.deny`).
 * Two-person rules (`req.quorum`, approval-quorum.ts): one vote per eligible principal, approved by the
 * `count`-th. Break-glass overrides of `block`: `queue.overrides` (block-overrides.ts), via `useOverride`.
 * Arguments at rest are sealed with `argumentsKey` (approval-arguments-seal.ts); `get`, `list` open them.
 * Live updates: `queue.on('change', fn)` for changes made through this queue; `queue.subscribe(fn)`
 * additionally watches the store (every `watchIntervalMs`, default 1 s, while subscribed) so the
 * console also sees requests and decisions made by other processes.
 * @example
 * const queue = new ApprovalQueue({ repository: store.approvals, holdMs: 30_000, audit: ledger });
 * await queue.approve('apr_…', consoleApprover(account), 'checked with finance');
 * await queue.close();
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Logger, pino } from 'pino';
import type {
  ApprovalHook,
  ApprovalOutcome,
  ApprovalRequest,
  BlockOverrideGrant,
} from '../gateway/approval-hook.js';
import { sha256Hex } from '../json/canonical-hash.js';
import { canonicalJson } from '../json/canonical-json.js';
import type { ApprovalRecord, ApprovalRepository, ApprovalStatus } from '../store/store.js';
import {
  type ApprovalArgumentsKey,
  openApprovalArguments,
  sealApprovalArguments,
} from './approval-arguments-seal.js';
import { assertNotRequester, checkDecision, decisionAuditEvent, refusalOf } from './approval-decision.js';
import { APPROVAL_ERROR_CODES, ApprovalError } from './approval-error.js';
import type { Approver } from './approval-principal.js';
import {
  type ApprovalChange,
  type ApprovalQueueOptions,
  DEFAULT_APPROVAL_EXPIRY_MS,
  DEFAULT_APPROVAL_HOLD_MS,
  DEFAULT_APPROVAL_POLL_INTERVAL_MS,
  DEFAULT_APPROVAL_PROGRESS_INTERVAL_MS,
  DEFAULT_APPROVAL_SWEEP_INTERVAL_MS,
  DEFAULT_APPROVAL_WATCH_INTERVAL_MS,
  SEALED_ARGUMENTS_PLACEHOLDER,
} from './approval-queue-options.js';
import {
  alreadyVoted,
  assertEligible,
  outcomeOf,
  quorumOfRequest,
  sameQuorum,
  voteAuditEvent,
  voteOf,
} from './approval-quorum.js';
import { ApprovalSubscribers } from './approval-subscribers.js';
import { HeldCallWaiters } from './approval-waiters.js';
import { type ApprovalWebhookOptions, postApprovalWebhook } from './approval-webhook.js';
import { announceHold, withdrawApproval, withdrawalAuditEvent } from './approval-withdrawal.js';
import { BlockOverrides } from './block-overrides.js';

export type { Approver } from './approval-principal.js';
export * from './approval-queue-options.js';

type ApprovalQueueEvents = { change: [ApprovalChange] };
type OverrideCall = Parameters<BlockOverrides['grantFor']>[0];

export class ApprovalQueue extends EventEmitter<ApprovalQueueEvents> implements ApprovalHook {
  readonly holdMs: number;
  readonly expiryMs: number;
  /** Break-glass overrides of `block` (request, confirm, list); the tier stage uses them via `useOverride`. */
  readonly overrides: BlockOverrides;
  readonly #repo: ApprovalRepository;
  readonly #pollMs: number;
  readonly #progressMs: number;
  readonly #webhook: ApprovalWebhookOptions | undefined;
  readonly #audit: ApprovalQueueOptions['audit'];
  readonly #tier: string;
  readonly #argumentsKey: ApprovalArgumentsKey | undefined;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #waiters = new HeldCallWaiters();
  readonly #subscribers: ApprovalSubscribers;
  readonly #closing = new AbortController();
  readonly #sweep: NodeJS.Timeout | undefined;

  constructor(options: ApprovalQueueOptions) {
    super();
    this.#repo = options.repository;
    this.holdMs = Math.max(0, options.holdMs ?? DEFAULT_APPROVAL_HOLD_MS);
    this.expiryMs = Math.max(1, options.expiryMs ?? DEFAULT_APPROVAL_EXPIRY_MS);
    this.#pollMs = Math.max(10, options.pollIntervalMs ?? DEFAULT_APPROVAL_POLL_INTERVAL_MS);
    this.#progressMs = Math.max(100, options.progressIntervalMs ?? DEFAULT_APPROVAL_PROGRESS_INTERVAL_MS);
    this.#subscribers = new ApprovalSubscribers(
      () => this.pending(500),
      Math.max(50, options.watchIntervalMs ?? DEFAULT_APPROVAL_WATCH_INTERVAL_MS),
      (options.logger ?? pino({ level: 'silent' })).child({ part: 'approvals' }),
    );
    this.#webhook = options.webhook;
    this.#audit = options.audit;
    this.#tier = options.tier ?? 'approve';
    this.#argumentsKey = options.argumentsKey;
    this.#now = options.now ?? Date.now;
    this.overrides = new BlockOverrides({
      repository: options.repository.overrides,
      now: this.#now,
      ...(options.audit ? { audit: options.audit } : {}),
      ...(options.argumentsKey ? { argumentsKey: options.argumentsKey } : {}),
    });
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'approvals' });
    const sweepMs = options.sweepIntervalMs ?? DEFAULT_APPROVAL_SWEEP_INTERVAL_MS;
    if (sweepMs > 0) {
      this.#sweep = setInterval(() => {
        this.expire().catch((err) => this.#log.warn({ err }, 'expiring approvals failed'));
      }, sweepMs);
      this.#sweep.unref();
    }
  }

  /**
   * The `ApprovalHook`: resolves `approved` (run the call now), `denied` (with the reason), `pending`
   * (no decision within the hold time; the agent should retry later) or `expired`. Store failures
   * reject (the tier stage refuses the call: fail closed).
   */
  async request(req: ApprovalRequest): Promise<ApprovalOutcome> {
    // The binding is computed here from the arguments that are stored, whatever the caller hashed.
    const argumentsText = canonicalJson(req.arguments);
    const argsHash = sha256Hex(argumentsText);
    const holdUntil = this.#now() + this.holdMs;
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.#repo.findOpenApproval(req.identity.name, req.tool, argsHash, this.#now());
      // A request made under another quorum (the policy changed) does not answer this call.
      const open = found && sameQuorum(found.quorum, req.quorum) ? found : undefined;
      if (open && open.status !== 'pending') {
        const delivered = await this.#deliver(open);
        if (delivered) return delivered;
        continue; // another call used this approval first: look again (or ask anew)
      }
      const record = open ?? (await this.#create(req, argsHash, argumentsText));
      const outcome = await this.#hold(record, holdUntil, req);
      if (outcome) return outcome;
    }
    const record = await this.#create(req, argsHash, argumentsText);
    return { decision: 'pending', approvalId: record.id, expiresAt: record.expiresAt };
  }

  /** The tier stage's break-glass hand-off: uses a confirmed override for exactly this blocked call. */
  async useOverride(call: OverrideCall): Promise<BlockOverrideGrant | undefined> {
    const grant = await this.overrides.grantFor(call);
    if (grant) this.#log.warn({ override: grant.id, who: call.identity.name }, 'break-glass override used');
    return grant;
  }

  /** The requester (its task cancelled) takes back pending request `id`: denied by `agent:…`, audited. */
  async withdraw(id: string, reason: string): Promise<boolean> {
    const withdrawn = await withdrawApproval(this.#repo, id, reason, this.#now());
    if (!withdrawn) return false;
    this.#waiters.wake(id);
    this.#emit({ type: 'denied', approval: this.#opened(withdrawn) });
    await this.#audit
      ?.append(withdrawalAuditEvent(withdrawn, reason))
      .catch((err: unknown) => this.#log.error({ err, approval: id }, 'withdrawn but not audited'));
    return true;
  }

  /**
   * Approves a pending request. Throws `ApprovalError`: `AIRLOCK_APPROVAL_UNKNOWN`, `_DECIDED`,
   * `_EXPIRED`, `_SELF` (the approver is the requester), `_INVALID`; with a quorum also
   * `_ROLE_INELIGIBLE` and `_ALREADY_VOTED`. With a quorum the returned request stays `pending` until
   * the last approval needed (its `votes` say who approved so far).
   *
   * @example
   * await queue.approve(id, consoleApprover(account), 'amount checked');
   */
  approve(id: string, approver: Approver, reason?: string): Promise<ApprovalRecord> {
    return this.#decide(id, approver, 'approved', reason);
  }

  /**
   * Denies a pending request; `reason` is required and is what the agent (and the model) is told.
   * Throws like `approve` (a requester may deny its own request), plus `AIRLOCK_APPROVAL_REASON_REQUIRED`.
   *
   * @example
   * await queue.deny(id, consoleApprover(account), 'refunds above 500 EUR go through finance');
   */
  deny(id: string, approver: Approver, reason: string): Promise<ApprovalRecord> {
    return this.#decide(id, approver, 'denied', reason);
  }

  /** One request, arguments opened (see {@link SEALED_ARGUMENTS_PLACEHOLDER}). */
  async get(id: string): Promise<ApprovalRecord | undefined> {
    const record = await this.#repo.getApproval(id);
    return record && this.#opened(record);
  }

  /** Newest first. With `status: ['pending']`, requests already past their expiry are left out. */
  async list(
    opts: { status?: readonly ApprovalStatus[]; tool?: string; identity?: string; limit?: number } = {},
  ): Promise<ApprovalRecord[]> {
    const rows = await this.#repo.listApprovals(opts);
    const now = this.#now();
    return rows.filter((r) => r.status !== 'pending' || r.expiresAt > now).map((r) => this.#opened(r));
  }

  /** Pending requests still waiting for a decision, newest first. */
  pending(limit?: number): Promise<ApprovalRecord[]> {
    return this.list({ status: ['pending'], ...(limit ? { limit } : {}) });
  }

  /** Marks requests past their expiry as expired; returns how many. */
  async expire(): Promise<number> {
    const n = await this.#repo.expireApprovals(this.#now());
    if (n > 0) this.#emit({ type: 'expired' });
    return n;
  }

  /**
   * Live updates including changes made by other processes (polls the store while subscribed).
   * Returns the unsubscribe function.
   *
   * @example
   * const stop = queue.subscribe(() => sse.send(render(await queue.pending())));
   */
  subscribe(listener: (change: ApprovalChange) => void): () => void {
    if (this.#closing.signal.aborted) return () => {};
    return this.#subscribers.add(listener);
  }

  /** Re-checks held calls now (one request, or all): another connector of a pair decided or voted. */
  wakeHeld(id?: string): void {
    if (id) this.#waiters.wake(id);
    else this.#waiters.wakeAll();
  }

  /** Stops timers, aborts webhook posts and releases held calls (they answer `pending`). */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    if (this.#sweep) clearInterval(this.#sweep);
    this.#subscribers.close();
    this.#waiters.wakeAll();
  }

  async #create(req: ApprovalRequest, argsHash: string, argumentsText: string): Promise<ApprovalRecord> {
    const now = this.#now();
    const id = `apr_${randomBytes(12).toString('hex')}`;
    const stored = await this.#repo.createApproval({
      id,
      identity: req.identity.name,
      spiffeId: req.identity.spiffeId,
      tool: req.tool,
      argsHash,
      arguments: this.#argumentsKey
        ? sealApprovalArguments(this.#argumentsKey, id, argumentsText)
        : argumentsText,
      tier: this.#tier,
      sessionId: req.sessionId ?? null,
      quorum: quorumOfRequest(req.quorum),
      createdAt: now,
      expiresAt: now + this.expiryMs,
    });
    const record = { ...stored, arguments: argumentsText };
    this.#log.info(
      { approval: record.id, identity: record.identity, tool: record.tool },
      'approval requested',
    );
    this.#emit({ type: 'created', approval: record });
    if (this.#webhook) {
      const webhook = this.#webhook;
      postApprovalWebhook(webhook, record, this.#closing.signal).catch((err: unknown) =>
        this.#log.warn({ err, approval: record.id }, 'approval webhook failed'),
      );
    }
    return record;
  }

  /** Consumes a decided request for this call; undefined when another call consumed the approval first. */
  async #deliver(record: ApprovalRecord): Promise<ApprovalOutcome | undefined> {
    const now = this.#now();
    if (record.status === 'approved') {
      if (!(await this.#repo.consumeApproval(record.id, now))) return undefined;
      this.#emit({ type: 'delivered', approval: { ...record, consumedAt: now } });
    } else if (record.status === 'denied') {
      // Every call waiting on a denied request hears the reason; later calls ask anew.
      if (await this.#repo.consumeApproval(record.id, now)) {
        this.#emit({ type: 'delivered', approval: { ...record, consumedAt: now } });
      }
    }
    return outcomeOf(record);
  }

  async #hold(
    record: ApprovalRecord,
    holdUntil: number,
    req: ApprovalRequest,
  ): Promise<ApprovalOutcome | undefined> {
    const started = this.#now();
    let nextProgress = started;
    for (;;) {
      const current = await this.#repo.getApproval(record.id);
      const now = this.#now();
      if (!current) return { decision: 'expired', approvalId: record.id };
      if (current.status === 'approved' || current.status === 'denied') return this.#deliver(current);
      if (current.status === 'expired' || now >= current.expiresAt) {
        await this.expire().catch(() => 0);
        return { decision: 'expired', approvalId: record.id };
      }
      if (now >= holdUntil || req.signal.aborted || this.#closing.signal.aborted) {
        return { decision: 'pending', approvalId: record.id, expiresAt: current.expiresAt };
      }
      if (now >= nextProgress) {
        if (nextProgress === started) announceHold(req, current, holdUntil, this);
        const elapsed = Math.round((now - started) / 100) / 10;
        await req
          .sendProgress({
            progress: elapsed,
            total: Math.round(this.holdMs / 100) / 10,
            message: `Waiting for a human approval (approval id ${record.id})`,
          })
          .catch((err: unknown) => this.#log.debug({ err }, 'progress notification failed'));
        nextProgress += this.#progressMs;
      }
      const wait = Math.max(1, Math.min(this.#pollMs, holdUntil - now, nextProgress - now));
      await this.#waiters.wait(record.id, wait, req.signal);
    }
  }

  async #decide(
    id: string,
    approver: Approver,
    status: 'approved' | 'denied',
    reason: string | undefined,
  ): Promise<ApprovalRecord> {
    const { name, principal, why } = checkDecision(approver, status, reason);
    const record = await this.#repo.getApproval(id);
    if (!record) throw new ApprovalError(APPROVAL_ERROR_CODES.unknown, `no approval request with id ${id}`);
    const who = { ...approver, name, id: principal };
    if (record.quorum) assertEligible(who, record.quorum);
    if (status === 'approved') assertNotRequester(who, record);
    const decidedAt = this.#now();
    const result = record.quorum
      ? await this.#repo.voteApproval(id, voteOf(who, name, status, why, decidedAt), record.quorum.count)
      : await this.#repo.decideApproval(id, { status, decidedBy: principal, reason: why, decidedAt });
    if (!result.ok) {
      if (result.reason === 'expired') await this.expire().catch(() => 0);
      if (result.reason === 'duplicate') throw alreadyVoted(id, principal, result.approval);
      throw refusalOf(id, result);
    }
    const decided = this.#opened(result.approval);
    const voted = decided.status === 'pending';
    this.#log.info({ approval: id, decision: status, approver: principal, voted }, 'approval decided');
    this.#waiters.wake(id);
    this.#emit({ type: voted ? 'voted' : status, approval: decided });
    if (this.#audit) {
      const event = voted ? voteAuditEvent(decided, who, why) : decisionAuditEvent(decided, who, why);
      await this.#audit
        .append(event)
        .catch((err: unknown) =>
          this.#log.error({ err, approval: id }, 'the decision is stored but could not be audited'),
        );
    }
    return decided;
  }

  /** `record` with its arguments opened (a placeholder when they cannot be). */
  #opened(record: ApprovalRecord): ApprovalRecord {
    try {
      return { ...record, arguments: openApprovalArguments(this.#argumentsKey, record.id, record.arguments) };
    } catch (err) {
      this.#log.warn({ err, approval: record.id }, 'approval arguments cannot be opened');
      return { ...record, arguments: SEALED_ARGUMENTS_PLACEHOLDER };
    }
  }

  #emit(change: ApprovalChange): void {
    this.emit('change', change);
    this.#subscribers.notify(change);
  }
}
