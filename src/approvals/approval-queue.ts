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
 *    every `progressIntervalMs` (default 5 s). Decisions made in this process wake the call at once;
 *    decisions made elsewhere (the `airlock approvals` CLI, another connector node on the same
 *    PostgreSQL) are seen by polling the store every `pollIntervalMs` (default 250 ms) while holding.
 * 3. No decision in time → `pending` with the approval id: the agent is told to retry the same call
 *    later; the retry with the same identity, tool and arguments goes through once approved.
 *
 * Supervisors decide with `approve` / `deny` (the console and the CLI use them). Separation of
 * duties: an approver whose name is the requesting identity (its name, SPIFFE id or SPIFFE path
 * tail, case-insensitive, or one of the approver's `aliases`) is refused with
 * `AIRLOCK_APPROVAL_SELF`. Approver, decision, reason and times are stored with the request and,
 * when an audit appender is given, appended to the audit trail (`approval.grant` / `approval.deny`).
 *
 * Live updates: `queue.on('change', fn)` for changes made through this queue; `queue.subscribe(fn)`
 * additionally watches the store (every `watchIntervalMs`, default 1 s, while subscribed) so the
 * console also sees requests and decisions made by other processes.
 *
 * @example
 * const queue = new ApprovalQueue({ repository: store.approvals, holdMs: 30_000, audit: ledger });
 * const stages = [..., tier({ hook: queue, ... })];
 * queue.on('change', (c) => console.log(c.type, c.approval?.id));
 * await queue.approve('apr_…', { name: 'alice', via: 'console' }, 'checked with finance');
 * await queue.close();
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Logger, pino } from 'pino';
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import { canonicalJson, sha256Hex } from '../audit/canonical-json.js';
import type { ApprovalHook, ApprovalOutcome, ApprovalRequest } from '../gateway/approval-hook.js';
import type { ApprovalRecord, ApprovalRepository, ApprovalStatus } from '../store/store.js';
import { APPROVAL_ERROR_CODES, ApprovalError } from './approval-error.js';
import { type ApprovalWebhookOptions, postApprovalWebhook } from './approval-webhook.js';

/** How long an agent's call is held open waiting for a decision. */
export const DEFAULT_APPROVAL_HOLD_MS = 30_000;
/** How long a request (and an approval not yet used) stays valid. */
export const DEFAULT_APPROVAL_EXPIRY_MS = 24 * 60 * 60 * 1000;
/** How often a held call re-reads its request from the store (decisions from other processes). */
export const DEFAULT_APPROVAL_POLL_INTERVAL_MS = 250;
/** How often a held call sends a progress notification. */
export const DEFAULT_APPROVAL_PROGRESS_INTERVAL_MS = 5_000;
/** How often requests past their expiry are marked expired. 0 disables the sweep. */
export const DEFAULT_APPROVAL_SWEEP_INTERVAL_MS = 60_000;
/** How often `subscribe`rs' store watcher looks for changes made by other processes. */
export const DEFAULT_APPROVAL_WATCH_INTERVAL_MS = 1_000;
/** Longest reason a supervisor may give (characters). */
export const MAX_APPROVAL_REASON_LENGTH = 2_000;
/** Longest approver name (characters). */
export const MAX_APPROVER_NAME_LENGTH = 200;

export interface ApprovalQueueOptions {
  /** Usually `store.approvals`. */
  repository: ApprovalRepository;
  /** Default {@link DEFAULT_APPROVAL_HOLD_MS} (30 s). Keep it below the agents' request timeout. */
  holdMs?: number;
  /** Default {@link DEFAULT_APPROVAL_EXPIRY_MS} (24 h). */
  expiryMs?: number;
  /** Default {@link DEFAULT_APPROVAL_POLL_INTERVAL_MS} (250 ms). */
  pollIntervalMs?: number;
  /** Default {@link DEFAULT_APPROVAL_PROGRESS_INTERVAL_MS} (5 s). */
  progressIntervalMs?: number;
  /** Default {@link DEFAULT_APPROVAL_SWEEP_INTERVAL_MS} (60 s); 0 disables. */
  sweepIntervalMs?: number;
  /** Default {@link DEFAULT_APPROVAL_WATCH_INTERVAL_MS} (1 s). */
  watchIntervalMs?: number;
  /** Notify a webhook (Slack-compatible) of every new pending request. */
  webhook?: ApprovalWebhookOptions;
  /** Where decisions are audited, usually the `AuditLedger`. */
  audit?: { append(event: AdminAuditEvent): Promise<unknown> };
  /** Tier recorded with new requests. Default `approve`. */
  tier?: string;
  /** Clock (epoch ms) for stored times. Default `Date.now`. */
  now?: () => number;
  /** Default silent. */
  logger?: Logger;
}

/** Who decides. */
export interface Approver {
  /** Console account name or CLI operator, e.g. `alice`. */
  name: string;
  /** Where the decision was made, recorded in the audit trail as `<via>:<name>`. Default `console`. */
  via?: string;
  /** Other names this person acts under (e.g. agent identities they run); also refused as self-approval. */
  aliases?: readonly string[];
}

export type ApprovalChangeType = 'created' | 'approved' | 'denied' | 'delivered' | 'expired' | 'external';

/** A change in the queue. `external`: something changed in the store outside this queue. */
export interface ApprovalChange {
  type: ApprovalChangeType;
  approval?: ApprovalRecord;
}

interface ApprovalQueueEvents {
  change: [ApprovalChange];
}

/** The tool error text an agent gets for a call that is still waiting. */
export function pendingApprovalMessage(approvalId: string, expiresAt: number): string {
  return `This call needs a human approval and is waiting in the approval queue (approval id ${approvalId}, valid until ${new Date(expiresAt).toISOString()}). Retry the same call with the same arguments later: once a supervisor approves it, the retry runs exactly once. Do not change the arguments, or a new approval is needed.`;
}

export class ApprovalQueue extends EventEmitter<ApprovalQueueEvents> implements ApprovalHook {
  readonly holdMs: number;
  readonly expiryMs: number;
  readonly #repo: ApprovalRepository;
  readonly #pollMs: number;
  readonly #progressMs: number;
  readonly #watchMs: number;
  readonly #webhook: ApprovalWebhookOptions | undefined;
  readonly #audit: ApprovalQueueOptions['audit'];
  readonly #tier: string;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #subscribers = new Set<(change: ApprovalChange) => void>();
  readonly #closing = new AbortController();
  readonly #sweep: NodeJS.Timeout | undefined;
  #watch: NodeJS.Timeout | undefined;
  #watchSignature: string | undefined;
  #watchBusy = false;

  constructor(options: ApprovalQueueOptions) {
    super();
    this.#repo = options.repository;
    this.holdMs = Math.max(0, options.holdMs ?? DEFAULT_APPROVAL_HOLD_MS);
    this.expiryMs = Math.max(1, options.expiryMs ?? DEFAULT_APPROVAL_EXPIRY_MS);
    this.#pollMs = Math.max(10, options.pollIntervalMs ?? DEFAULT_APPROVAL_POLL_INTERVAL_MS);
    this.#progressMs = Math.max(100, options.progressIntervalMs ?? DEFAULT_APPROVAL_PROGRESS_INTERVAL_MS);
    this.#watchMs = Math.max(50, options.watchIntervalMs ?? DEFAULT_APPROVAL_WATCH_INTERVAL_MS);
    this.#webhook = options.webhook;
    this.#audit = options.audit;
    this.#tier = options.tier ?? 'approve';
    this.#now = options.now ?? Date.now;
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
      const open = await this.#repo.findOpenApproval(req.identity.name, req.tool, argsHash, this.#now());
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

  /**
   * Approves a pending request. Throws `ApprovalError`: `AIRLOCK_APPROVAL_UNKNOWN`, `_DECIDED`,
   * `_EXPIRED`, `_SELF` (the approver is the requester), `_INVALID`.
   *
   * @example
   * await queue.approve(id, { name: 'alice', via: 'console' }, 'amount checked');
   */
  approve(id: string, approver: Approver, reason?: string): Promise<ApprovalRecord> {
    return this.#decide(id, approver, 'approved', reason);
  }

  /**
   * Denies a pending request; `reason` is required and is what the agent (and the model) is told.
   * Throws like `approve` (a requester may deny its own request), plus `AIRLOCK_APPROVAL_REASON_REQUIRED`.
   *
   * @example
   * await queue.deny(id, { name: 'alice' }, 'refunds above 500 EUR go through finance');
   */
  deny(id: string, approver: Approver, reason: string): Promise<ApprovalRecord> {
    return this.#decide(id, approver, 'denied', reason);
  }

  get(id: string): Promise<ApprovalRecord | undefined> {
    return this.#repo.getApproval(id);
  }

  /** Newest first. With `status: ['pending']`, requests already past their expiry are left out. */
  async list(
    opts: { status?: readonly ApprovalStatus[]; tool?: string; identity?: string; limit?: number } = {},
  ): Promise<ApprovalRecord[]> {
    const rows = await this.#repo.listApprovals(opts);
    const now = this.#now();
    return rows.filter((r) => r.status !== 'pending' || r.expiresAt > now);
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
    this.#subscribers.add(listener);
    if (!this.#watch && !this.#closing.signal.aborted) {
      this.#watch = setInterval(() => void this.#watchStore(), this.#watchMs);
      this.#watch.unref();
      void this.#watchStore();
    }
    return () => {
      this.#subscribers.delete(listener);
      if (this.#subscribers.size === 0 && this.#watch) {
        clearInterval(this.#watch);
        this.#watch = undefined;
        this.#watchSignature = undefined;
      }
    };
  }

  /** Stops timers, aborts webhook posts and releases held calls (they answer `pending`). */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    if (this.#sweep) clearInterval(this.#sweep);
    if (this.#watch) clearInterval(this.#watch);
    this.#watch = undefined;
    this.#subscribers.clear();
    for (const set of this.#waiters.values()) for (const wake of set) wake();
    this.#waiters.clear();
  }

  // -------------------------------------------------------------------------------------------

  async #create(req: ApprovalRequest, argsHash: string, argumentsText: string): Promise<ApprovalRecord> {
    const now = this.#now();
    const record = await this.#repo.createApproval({
      id: `apr_${randomBytes(12).toString('hex')}`,
      identity: req.identity.name,
      spiffeId: req.identity.spiffeId,
      tool: req.tool,
      argsHash,
      arguments: argumentsText,
      tier: this.#tier,
      sessionId: req.sessionId ?? null,
      createdAt: now,
      expiresAt: now + this.expiryMs,
    });
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
      return { decision: 'approved', approvalId: record.id, approver: record.decidedBy ?? '' };
    }
    if (record.status === 'denied') {
      // Every call waiting on a denied request hears the reason; later calls ask anew.
      if (await this.#repo.consumeApproval(record.id, now)) {
        this.#emit({ type: 'delivered', approval: { ...record, consumedAt: now } });
      }
      return {
        decision: 'denied',
        approvalId: record.id,
        approver: record.decidedBy ?? '',
        reason: record.reason ?? '',
      };
    }
    return { decision: 'expired', approvalId: record.id };
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
      await this.#wait(record.id, wait, req.signal);
    }
  }

  /** Sleeps `ms`, or less when a decision on `id` is made in this process or the call is aborted. */
  #wait(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.#waiters.get(id);
      if (!set) {
        set = new Set();
        this.#waiters.set(id, set);
      }
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  async #decide(
    id: string,
    approver: Approver,
    status: 'approved' | 'denied',
    reason: string | undefined,
  ): Promise<ApprovalRecord> {
    const name = typeof approver?.name === 'string' ? approver.name.trim() : '';
    if (!name || name.length > MAX_APPROVER_NAME_LENGTH) {
      throw new ApprovalError(APPROVAL_ERROR_CODES.invalid, 'an approver name is required');
    }
    const why = reason?.trim() ? reason.trim() : null;
    if (why !== null && why.length > MAX_APPROVAL_REASON_LENGTH) {
      throw new ApprovalError(
        APPROVAL_ERROR_CODES.invalid,
        `the reason is longer than ${MAX_APPROVAL_REASON_LENGTH} characters`,
      );
    }
    if (status === 'denied' && why === null) {
      throw new ApprovalError(
        APPROVAL_ERROR_CODES.reasonRequired,
        'a denial needs a reason: the agent is told why its call was refused',
      );
    }
    const record = await this.#repo.getApproval(id);
    if (!record) throw new ApprovalError(APPROVAL_ERROR_CODES.unknown, `no approval request with id ${id}`);
    if (status === 'approved' && isRequester({ ...approver, name }, record)) {
      throw new ApprovalError(
        APPROVAL_ERROR_CODES.selfApproval,
        `separation of duties: ${name} asked for this call (as identity ${record.identity}) and cannot approve it; another supervisor must decide`,
      );
    }
    const decidedAt = this.#now();
    const result = await this.#repo.decideApproval(id, { status, decidedBy: name, reason: why, decidedAt });
    if (!result.ok) {
      if (result.reason === 'unknown') {
        throw new ApprovalError(APPROVAL_ERROR_CODES.unknown, `no approval request with id ${id}`);
      }
      if (result.reason === 'expired') {
        await this.expire().catch(() => 0);
        throw new ApprovalError(
          APPROVAL_ERROR_CODES.expired,
          `approval request ${id} expired at ${new Date(result.approval.expiresAt).toISOString()} before anyone decided`,
        );
      }
      const prior = result.approval;
      throw new ApprovalError(
        APPROVAL_ERROR_CODES.decided,
        `approval request ${id} was already ${prior.status}${prior.decidedBy ? ` by ${prior.decidedBy}` : ''}${prior.decidedAt ? ` at ${new Date(prior.decidedAt).toISOString()}` : ''}`,
      );
    }
    const decided = result.approval;
    this.#log.info({ approval: id, decision: status, approver: name }, 'approval decided');
    for (const wake of this.#waiters.get(id) ?? []) wake();
    this.#emit({ type: status, approval: decided });
    if (this.#audit) {
      await this.#audit
        .append({
          kind: 'admin',
          action: status === 'approved' ? 'approval.grant' : 'approval.deny',
          actor: `${approver.via ?? 'console'}:${name}`,
          target: decided.tool,
          reason: why,
          detail: {
            approvalId: decided.id,
            identity: decided.identity,
            argsHash: decided.argsHash,
            requestedAt: decided.createdAt,
            decidedAt,
          },
        })
        .catch((err: unknown) =>
          this.#log.error({ err, approval: id }, 'the decision is stored but could not be audited'),
        );
    }
    return decided;
  }

  #emit(change: ApprovalChange): void {
    this.emit('change', change);
    for (const listener of this.#subscribers) {
      try {
        listener(change);
      } catch (err) {
        this.#log.warn({ err }, 'approval listener failed');
      }
    }
  }

  async #watchStore(): Promise<void> {
    if (this.#watchBusy || this.#closing.signal.aborted) return;
    this.#watchBusy = true;
    try {
      const pending = await this.pending(500);
      const signature = pending.map((r) => r.id).join(',');
      if (this.#watchSignature !== undefined && signature !== this.#watchSignature) {
        for (const listener of this.#subscribers) listener({ type: 'external' });
      }
      this.#watchSignature = signature;
    } catch (err) {
      this.#log.debug({ err }, 'approval watch failed');
    } finally {
      this.#watchBusy = false;
    }
  }
}

/** True when `approver` is (one of the names of) the identity that asked for `record`. */
export function isRequester(
  approver: Approver,
  record: Pick<ApprovalRecord, 'identity' | 'spiffeId'>,
): boolean {
  const requester = new Set(
    [record.identity, record.spiffeId, record.spiffeId.split('/').at(-1) ?? '']
      .filter((n) => n.length > 0)
      .map((n) => n.toLowerCase()),
  );
  return [approver.name, ...(approver.aliases ?? [])].some((n) => requester.has(n.trim().toLowerCase()));
}
