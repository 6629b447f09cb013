/**
 * One call held for a human approval as a 2025-11-25 task, or a 2026-07-28 tasks-extension task
 * (held-task-stage.ts): its status as the agent polls it (`tasks/get`; {@link HeldTask.detailedState} for
 * the extension, with the result or error inline), the outcome of the gateway pipeline once a person decided (`tasks/result`),
 * and the agent's cancel, which withdraws the pending approval request.
 *
 * Statuses: `working` while the approval is pending or the approved call runs; `completed` with the tool
 * result; `failed` when the pipeline answered an error, or a tool error (`isError`: a denial, an
 * approval that expired or was not decided within the hold) whose text becomes `statusMessage`;
 * `cancelled` by the agent. The outcome is what the pipeline produced — after the pii and audit stages,
 * like any call — and it reaches the agent through the outbound boundary in the `tasks/result` answer.
 *
 * Time to live: `ttlMs` from creation (at most the rest of the approval hold); a task still working then
 * is aborted (the approval stays pending, as for a call held without a task). A finished task and its
 * result are kept `ttlMs` after it finished.
 *
 * @example
 * const task = new HeldTask({ owner: 'alice', tool: 'erp.refund', approval, ttlMs: 30_000, pollIntervalMs: 5_000, abort });
 * task.finish({ ok: true, result }); // the pipeline's answer
 * await task.result(signal); // the same answer, for tasks/result
 */
import { randomUUID } from 'node:crypto';
import { JSONRPC_INTERNAL_ERROR, JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';
import type { HeldApproval } from '../gateway/stages/tier-stage-held.js';
import type { RequestTaint } from '../pii/request-taint.js';

/** The task statuses a held call goes through (`input_required` is never used: a person decides, not the agent). */
export type HeldTaskStatus = 'working' | 'completed' | 'failed' | 'cancelled';

/** The 2025-11-25 `Task` of a held call, as `tasks/get` and `notifications/tasks/status` carry it. */
export interface HeldTaskState {
  taskId: string;
  status: HeldTaskStatus;
  statusMessage: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttl: number;
  pollInterval: number;
}

/** What the gateway pipeline produced for the call. */
export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: unknown };

export interface HeldTaskInit {
  /** The identity that made the call: the only one that may reach the task. */
  owner: string;
  tool: string;
  approval: HeldApproval;
  ttlMs: number;
  pollIntervalMs: number;
  /** Values de-tokenized for the call: re-tokenized in every answer about the task. */
  taint?: RequestTaint | undefined;
  /** Aborts the held call (cancel, or its time to live ran out). */
  abort: (reason: Error) => void;
  /** Told of every status change (for `notifications/tasks/status`). */
  onStatus?: (state: HeldTaskState) => void;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export class HeldTask {
  readonly taskId = randomUUID();
  readonly owner: string;
  readonly tool: string;
  readonly taint: RequestTaint | undefined;
  readonly approvalId: string;
  readonly #init: HeldTaskInit;
  readonly #now: () => number;
  readonly #createdAt: number;
  readonly #ttlTimer: NodeJS.Timeout;
  readonly #terminal: Promise<void>;
  #reachTerminal: () => void = () => {};
  #status: HeldTaskStatus = 'working';
  #message: string;
  #updatedAt: number;
  #expiresAt: number;
  #outcome: CallOutcome | undefined;

  constructor(init: HeldTaskInit) {
    this.#init = init;
    this.owner = init.owner;
    this.tool = init.tool;
    this.taint = init.taint;
    this.approvalId = init.approval.approvalId;
    this.#now = init.now ?? Date.now;
    this.#createdAt = this.#now();
    this.#updatedAt = this.#createdAt;
    this.#expiresAt = this.#createdAt + init.ttlMs;
    this.#message = `Waiting for a human approval (approval id ${init.approval.approvalId})`;
    this.#terminal = new Promise((resolve) => {
      this.#reachTerminal = resolve;
    });
    this.#ttlTimer = setTimeout(() => {
      if (this.#status === 'working') init.abort(new Error('the task’s time to live ran out'));
    }, init.ttlMs);
    this.#ttlTimer.unref();
  }

  get status(): HeldTaskStatus {
    return this.#status;
  }

  /** Epoch ms after which the task is forgotten. */
  get expiresAt(): number {
    return this.#expiresAt;
  }

  /** The task as the agent sees it. */
  state(): HeldTaskState {
    return {
      taskId: this.taskId,
      status: this.#status,
      statusMessage: this.#message,
      createdAt: new Date(this.#createdAt).toISOString(),
      lastUpdatedAt: new Date(this.#updatedAt).toISOString(),
      ttl: this.#init.ttlMs,
      pollInterval: this.#init.pollIntervalMs,
    };
  }

  /**
   * The task as a 2026-07-28 agent of the tasks extension sees it (a `DetailedTask`): `ttlMs` and
   * `pollIntervalMs`, the call's result once `completed`, a JSON-RPC error once `failed`.
   */
  detailedState(): Record<string, unknown> {
    const { ttl, pollInterval, ...state } = this.state();
    const detailed: Record<string, unknown> = { ...state, ttlMs: ttl, pollIntervalMs: pollInterval };
    const outcome = this.#outcome;
    if (state.status === 'completed' && outcome?.ok) detailed.result = outcome.result;
    if (state.status === 'failed') detailed.error = errorOf(outcome, state.statusMessage);
    return detailed;
  }

  /** The pipeline answered: `completed`, or `failed` for an error or a tool error (unless cancelled before). */
  finish(outcome: CallOutcome): void {
    clearTimeout(this.#ttlTimer);
    this.#outcome = outcome;
    this.#expiresAt = Math.max(this.#expiresAt, this.#now() + this.#init.ttlMs);
    if (this.#status !== 'working') return;
    const failure = failureOf(outcome);
    if (failure === undefined) this.#set('completed', 'The call was approved and completed');
    else this.#set('failed', failure);
  }

  /**
   * The agent cancels: the pending approval request is withdrawn (no supervisor can approve it any
   * more), then the call is aborted (also when it was approved and runs). Refused once finished.
   */
  async cancel(): Promise<HeldTaskState> {
    if (this.#status !== 'working') {
      throw new WireError(
        JSONRPC_INVALID_PARAMS,
        'AIRLOCK_TASK_FINISHED',
        `Task '${this.taskId}' is already ${this.#status}; it cannot be cancelled`,
      );
    }
    this.#set('cancelled', 'Cancelled by the agent; its approval request was withdrawn');
    clearTimeout(this.#ttlTimer);
    await this.#init.approval.withdraw('the agent cancelled the task its call waited in').catch(() => false);
    this.#init.abort(new Error('the task was cancelled'));
    return this.state();
  }

  /** Waits until the task finished, then answers what the call answered (`tasks/result`). */
  async result(signal: AbortSignal): Promise<unknown> {
    await Promise.race([this.#terminal, abortOf(signal)]);
    if (this.#status === 'cancelled') {
      throw new WireError(
        JSONRPC_INVALID_PARAMS,
        'AIRLOCK_TASK_CANCELLED',
        `Task '${this.taskId}' was cancelled; its call has no result`,
      );
    }
    const outcome = this.#outcome;
    if (!outcome) throw signal.reason ?? new Error('tasks/result was abandoned');
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  }

  #set(status: HeldTaskStatus, message: string): void {
    this.#status = status;
    this.#message = message;
    this.#updatedAt = this.#now();
    this.#reachTerminal();
    this.#init.onStatus?.(this.state());
  }
}

/** Why the outcome is a failure (the tool error's text or the error's message), or undefined for success. */
function failureOf(outcome: CallOutcome): string | undefined {
  if (!outcome.ok) {
    const error = outcome.error;
    return error instanceof WireError ? error.message : 'The call failed in the gateway';
  }
  const result = outcome.result as { isError?: unknown; content?: unknown } | null;
  if (result?.isError !== true) return undefined;
  const content = Array.isArray(result.content) ? (result.content as { text?: unknown }[]) : [];
  const text = content.map((c) => (typeof c.text === 'string' ? c.text : '')).join(' ');
  return text || 'The tool reported an error';
}

/** The JSON-RPC error of a failed task: the pipeline's error as it was, else (a tool error) the failure text. */
function errorOf(outcome: CallOutcome | undefined, message: string): Record<string, unknown> {
  const error = outcome && !outcome.ok ? outcome.error : undefined;
  if (error instanceof WireError) return { ...error.toJSON() };
  return { code: JSONRPC_INTERNAL_ERROR, message };
}

function abortOf(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
