/**
 * Who owns each upstream task an agent created through the gateway: a bounded, in-memory map
 * (owner identity, task id) → the upstream that holds the task and the tool it runs. `tasks/get`,
 * `tasks/result`, `tasks/cancel` and `tasks/list` are routed with it (task-routes.ts), so a task is only
 * ever reached by the identity that created it, at the upstream that created it.
 *
 * Bounds: at most `maxTasks` entries in all and `maxPerIdentity` per identity (the oldest goes first,
 * so one identity cannot push out another's), each kept for the task's own `ttl` capped at `maxAgeMs`.
 * A forgotten task answers "unknown task", as the upstream itself would after its TTL.
 *
 * @example
 * const owners = new TaskOwners({ maxTasks: 10_000 });
 * owners.record({ owner: 'alice', taskId: 't1', upstream, tool: 'erp.export' }, 60_000);
 * owners.find('bob', 't1'); // undefined: not bob's
 */
import type { RequestTaint } from '../pii/request-taint.js';
import type { Upstream } from './upstream.js';

/** Default most tasks tracked at once (all identities). */
export const DEFAULT_MAX_TRACKED_TASKS = 10_000;
/** Default most tasks tracked per identity. */
export const DEFAULT_MAX_TASKS_PER_IDENTITY = 1_000;
/** Default longest time a task is tracked (when its own `ttl` is longer or unlimited): 24 h. */
export const DEFAULT_MAX_TASK_AGE_MS = 24 * 60 * 60 * 1000;

export interface TaskOwnersOptions {
  /** Default {@link DEFAULT_MAX_TRACKED_TASKS}. */
  maxTasks?: number;
  /** Default {@link DEFAULT_MAX_TASKS_PER_IDENTITY}. */
  maxPerIdentity?: number;
  /** Default {@link DEFAULT_MAX_TASK_AGE_MS}. */
  maxAgeMs?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/** One tracked task. */
export interface OwnedTask {
  /** The identity that created it. */
  owner: string;
  /** The upstream's task id (what the agent sees). */
  taskId: string;
  /** The upstream that holds it. */
  upstream: Pick<Upstream, 'name' | 'request' | 'capabilities'>;
  /** The tool it runs, as the agent named it. */
  tool: string;
  /**
   * Values de-tokenized for the call that created it: re-tokenized in every later answer about the
   * task (`tasks/result` reflects the call's arguments as the call's own answer would).
   */
  taint?: RequestTaint;
}

interface Entry extends OwnedTask {
  expiresAt: number;
}

export class TaskOwners {
  readonly #entries = new Map<string, Entry>();
  readonly #perOwner = new Map<string, number>();
  readonly #maxTasks: number;
  readonly #maxPerIdentity: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(options: TaskOwnersOptions = {}) {
    this.#maxTasks = options.maxTasks ?? DEFAULT_MAX_TRACKED_TASKS;
    this.#maxPerIdentity = options.maxPerIdentity ?? DEFAULT_MAX_TASKS_PER_IDENTITY;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_TASK_AGE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Tasks tracked now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Tracks a task created for `task.owner`; `ttlMs` is the task's own time to live, when it has one. */
  record(task: OwnedTask, ttlMs: number | undefined): void {
    const key = keyOf(task.owner, task.taskId);
    this.#delete(key);
    if ((this.#perOwner.get(task.owner) ?? 0) >= this.#maxPerIdentity) this.#evictOldest(task.owner);
    if (this.#entries.size >= this.#maxTasks) this.#evictOldest(undefined);
    const age = ttlMs !== undefined && ttlMs >= 0 ? Math.min(ttlMs, this.#maxAgeMs) : this.#maxAgeMs;
    this.#entries.set(key, { ...task, expiresAt: this.#now() + age });
    this.#perOwner.set(task.owner, (this.#perOwner.get(task.owner) ?? 0) + 1);
  }

  /** The task `taskId` of `owner`, or undefined (unknown, expired or another identity's). */
  find(owner: string, taskId: string): OwnedTask | undefined {
    const key = keyOf(owner, taskId);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#delete(key);
      return undefined;
    }
    return entry;
  }

  /** Every live task of `owner`, oldest first. */
  of(owner: string): OwnedTask[] {
    const now = this.#now();
    return [...this.#entries.values()].filter((e) => e.owner === owner && e.expiresAt > now);
  }

  #evictOldest(owner: string | undefined): void {
    for (const [key, entry] of this.#entries) {
      if (owner === undefined || entry.owner === owner) {
        this.#delete(key);
        return;
      }
    }
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    const left = (this.#perOwner.get(entry.owner) ?? 1) - 1;
    if (left > 0) this.#perOwner.set(entry.owner, left);
    else this.#perOwner.delete(entry.owner);
  }
}

function keyOf(owner: string, taskId: string): string {
  return `${owner}\u0000${taskId}`;
}
