/**
 * The calls held for approval as tasks (held-task.ts), per owner identity: a bounded, in-memory map
 * (owner, task id) → task with the ownership rule of the upstream tasks (task-owners.ts) — a task is
 * found only by the identity that created it; for anyone else it does not exist.
 *
 * Unlike upstream tasks, nothing is pushed out to make room: a forgotten pending task would leave a
 * call that can still be approved and run with no one to fetch its result. New held tasks are refused
 * instead, per identity while it has `maxPendingPerIdentity` tasks still working (reserved when the tier
 * stage asks for an approval), and in all while `maxTasks` tasks are tracked. Finished tasks are
 * forgotten after their time to live (held-task.ts).
 *
 * @example
 * const held = new HeldTasks({ maxPendingPerIdentity: 10 });
 * held.reserve('alice'); // undefined: room for one more
 * held.find('bob', task.taskId); // undefined: not bob's
 */
import type { GatewayContext } from '../gateway/gateway-context.js';
import { HeldTask, type HeldTaskInit } from './held-task.js';

/** Where the held tasks sit on every request's context (held-task-stage.ts), for the task routes. */
export const HELD_TASKS = Symbol('airlock.heldTasks');

/** The held tasks of the stage that saw `ctx` (none without the stage). */
export function heldTasksOf(ctx: GatewayContext): HeldTasks | undefined {
  return (ctx as { [HELD_TASKS]?: HeldTasks })[HELD_TASKS];
}

/** Default most calls of one identity waiting for approval as tasks at once. */
export const DEFAULT_MAX_HELD_TASKS_PER_IDENTITY = 10;
/** Default most held tasks tracked at once (all identities, finished ones included). */
export const DEFAULT_MAX_HELD_TASKS = 10_000;
/** Default `pollInterval` suggested to agents (every `tasks/get` passes the whole pipeline and is audited). */
export const DEFAULT_HELD_TASK_POLL_INTERVAL_MS = 5_000;

export interface HeldTasksOptions {
  /** Default {@link DEFAULT_MAX_HELD_TASKS_PER_IDENTITY}; 0 holds no call as a task (held open as before). */
  maxPendingPerIdentity?: number;
  /** Default {@link DEFAULT_MAX_HELD_TASKS}. */
  maxTasks?: number;
  /** Default {@link DEFAULT_HELD_TASK_POLL_INTERVAL_MS}. */
  pollIntervalMs?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export class HeldTasks {
  readonly maxPendingPerIdentity: number;
  readonly pollIntervalMs: number;
  readonly #maxTasks: number;
  readonly #now: () => number;
  readonly #tasks = new Map<string, HeldTask>();
  /** Reserved or working held calls per identity. */
  readonly #pending = new Map<string, number>();

  constructor(options: HeldTasksOptions = {}) {
    this.maxPendingPerIdentity = Math.max(
      0,
      options.maxPendingPerIdentity ?? DEFAULT_MAX_HELD_TASKS_PER_IDENTITY,
    );
    this.#maxTasks = Math.max(1, options.maxTasks ?? DEFAULT_MAX_HELD_TASKS);
    this.pollIntervalMs = Math.max(100, options.pollIntervalMs ?? DEFAULT_HELD_TASK_POLL_INTERVAL_MS);
    this.#now = options.now ?? Date.now;
  }

  /** Held tasks tracked now. */
  get size(): number {
    return this.#tasks.size;
  }

  /** Calls of `owner` reserved or working now. */
  pendingOf(owner: string): number {
    return this.#pending.get(owner) ?? 0;
  }

  /** Reserves room for one more held call of `owner`; says why not when there is none. */
  reserve(owner: string): { refused: string } | undefined {
    const pending = this.pendingOf(owner);
    if (pending >= this.maxPendingPerIdentity) {
      return {
        refused: `this identity already has ${pending} calls waiting for approval as tasks (at most ${this.maxPendingPerIdentity}, approvals.maxHeldTasksPerIdentity)`,
      };
    }
    this.#sweep();
    if (this.#tasks.size >= this.#maxTasks) {
      return {
        refused: `the connector already tracks ${this.#tasks.size} held tasks (at most ${this.#maxTasks})`,
      };
    }
    this.#pending.set(owner, pending + 1);
    return undefined;
  }

  /** Gives back a reservation of `owner` that did not become a task (or a task that finished). */
  release(owner: string): void {
    const left = this.pendingOf(owner) - 1;
    if (left > 0) this.#pending.set(owner, left);
    else this.#pending.delete(owner);
  }

  /**
   * Turns a reservation of `init.owner` into a tracked task, released when the task finishes. Its time
   * to live is the rest of the approval hold, or the agent's `requestedTtlMs` when that is shorter.
   */
  create(
    init: Omit<HeldTaskInit, 'pollIntervalMs' | 'now' | 'ttlMs'> & { requestedTtlMs?: number },
  ): HeldTask {
    const rest = Math.max(0, init.approval.holdUntil - this.#now());
    const requested = init.requestedTtlMs;
    const ttlMs = requested !== undefined && requested >= 0 ? Math.min(requested, rest) : rest;
    let released = false;
    const onStatus: HeldTaskInit['onStatus'] = (state) => {
      if (!released && state.status !== 'working') {
        released = true;
        this.release(init.owner);
      }
      init.onStatus?.(state);
    };
    const task = new HeldTask({
      ...init,
      ttlMs,
      onStatus,
      pollIntervalMs: this.pollIntervalMs,
      now: this.#now,
    });
    this.#tasks.set(keyOf(init.owner, task.taskId), task);
    return task;
  }

  /** The task `taskId` of `owner`, or undefined (unknown, forgotten or another identity's). */
  find(owner: string, taskId: string): HeldTask | undefined {
    const key = keyOf(owner, taskId);
    const task = this.#tasks.get(key);
    if (task && task.status !== 'working' && task.expiresAt <= this.#now()) {
      this.#tasks.delete(key);
      return undefined;
    }
    return task;
  }

  /** Every task of `owner` still tracked, oldest first. */
  of(owner: string): HeldTask[] {
    this.#sweep();
    return [...this.#tasks.values()].filter((t) => t.owner === owner);
  }

  /** Forgets finished tasks past their time to live (a working task stays until it finishes). */
  #sweep(): void {
    const now = this.#now();
    for (const [key, task] of this.#tasks) {
      if (task.status !== 'working' && task.expiresAt <= now) this.#tasks.delete(key);
    }
  }
}

function keyOf(owner: string, taskId: string): string {
  return `${owner}\u0000${taskId}`;
}
