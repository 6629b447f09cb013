/**
 * Approvals as a protocol citizen: a 2025-11-25 agent's task-augmented `tools/call` (`params.task`) that
 * the approval queue holds becomes a task the agent polls, instead of a request held open.
 *
 * The stage sits OUTSIDE every other stage (before audit), so the call runs the whole pipeline exactly
 * as any call: audit, authenticate, budget, pii, authorize, catalog, validate, tier. When the tier stage
 * asks for an approval it reserves room for one more held call of the identity (refused with
 * `AIRLOCK_LIMIT_HELD_TASKS` at `maxPendingPerIdentity`) and, once the queue starts holding it, the
 * agent is answered at once with a `CreateTaskResult` (`working`, `ttl` = the rest of the hold or the
 * agent's shorter one, `pollInterval`) while the pipeline goes on in the background under the task's own signal. When a
 * person decides, the call runs on (without `task`: the gateway holds the task, the upstream answers
 * the call), its result comes back through the pii and audit stages, and the task turns `completed`
 * or `failed` (held-task.ts); `tasks/get|result|cancel|list` reach it for its owner only
 * (task-routes.ts), and `tasks/result` answers through the outbound boundary like any answer.
 * `notifications/tasks/status` goes to the agent's session on every change.
 *
 * A 2026-07-28 agent that declares the tasks extension (SEP-2663) in the call's client capabilities gets
 * the same as the extension's task handle (`resultType: "task"`, `working`, `ttlMs`, `pollIntervalMs`) and
 * polls it with `tasks/get` (the result or error inline once a person decided, task-routes.ts); the
 * declaration is not forwarded to the upstream once the call is held (the gateway holds the task).
 *
 * Held as before (keep-alive or progress, no task): 2025-11-25 calls without `task`, 2026-07-28 calls
 * without the extension, 2025-11-25 agents of a connector that does not offer tasks for `tools/call`,
 * tools whose upstream requires a task (`execution.taskSupport: required`: the upstream's own task is
 * created once approved), and `maxPendingPerIdentity: 0`.
 *
 * @example
 * const stages = [heldTaskStage({ maxPendingPerIdentity: 10, taskSupport: toolTaskSupport(catalog) }), ...gatewayStages(deps)];
 */
import type { GatewayContext, Stage } from '../gateway/gateway-context.js';
import { HELD_CALL, type HeldApproval, type HeldCallListener } from '../gateway/stages/tier-stage-held.js';
import { currentRequestTaint } from '../pii/request-taint.js';
import type { AgentCatalog } from './agent-endpoint-options.js';
import { type AgentRequest, agentRequestStorage } from './agent-method-table.js';
import type { CallOutcome, HeldTask, HeldTaskState } from './held-task.js';
import { HELD_TASKS, HeldTasks, type HeldTasksOptions } from './held-tasks.js';
import { declaresTasksExtension, TASKS_EXTENSION } from './task-extension.js';
import { agentFacingTaskResult } from './task-wire.js';

export interface HeldTaskStageOptions extends HeldTasksOptions {
  /** A tool's `execution.taskSupport` as the agent sees it ({@link toolTaskSupport}). Default: none known. */
  taskSupport?: (tool: string) => string | undefined;
}

/** See the module comment. */
export function heldTaskStage(options: HeldTaskStageOptions = {}): Stage {
  const tasks = new HeldTasks(options);
  return (next) => async (ctx) => {
    Object.defineProperty(ctx, HELD_TASKS, { value: tasks, configurable: true });
    const agent = agentRequestStorage.getStore();
    if (!holdableAsTask(ctx, agent, tasks, options)) return next(ctx);
    const call = new HeldCall(ctx, tasks, agent);
    const settled = agentRequestStorage
      .run(call.agent, () => next(call.view))
      .then(
        (result): CallOutcome => ({ ok: true, result }),
        (error: unknown): CallOutcome => ({ ok: false, error }),
      );
    const first = await Promise.race([settled, call.detached]);
    if ('ok' in first) {
      call.settledFirst();
      if (first.ok) return first.result;
      throw first.error;
    }
    void settled.then((outcome) => first.finish(outcome));
    if (ctx.era === 'modern') return { resultType: 'task', ...first.detailedState() };
    return agentFacingTaskResult({ task: first.state() });
  };
}

/**
 * `execution.taskSupport` of a tool in `catalog`'s aggregate list (looked up when a call is held).
 *
 * @example
 * heldTaskStage({ taskSupport: toolTaskSupport(catalog) });
 */
export function toolTaskSupport(catalog: Pick<AgentCatalog, 'tools'>): (tool: string) => string | undefined {
  return (tool) => catalog.tools().find((t) => t.name === tool)?.execution?.taskSupport;
}

function holdableAsTask(
  ctx: GatewayContext,
  agent: AgentRequest | undefined,
  tasks: HeldTasks,
  options: HeldTaskStageOptions,
): agent is AgentRequest {
  const task = ctx.params.task;
  if (ctx.method !== 'tools/call' || !agent || !ctx.identity) return false;
  if (tasks.maxPendingPerIdentity === 0) return false;
  if (ctx.era === 'modern') return declaresTasksExtension(agent.server.getClientCapabilities());
  if (task === null || typeof task !== 'object' || Array.isArray(task)) return false;
  if (!agent.server.getCapabilities().tasks?.requests?.tools?.call) return false;
  return options.taskSupport?.(String(ctx.params.name)) !== 'required';
}

/** One task-augmented call on its way through the pipeline: the listener the tier stage tells. */
class HeldCall implements HeldCallListener {
  readonly view: GatewayContext;
  /** The agent request as the stages below see it: once held, no tasks extension towards the upstream. */
  readonly agent: AgentRequest;
  readonly detached: Promise<HeldTask>;
  readonly #ctx: GatewayContext;
  readonly #tasks: HeldTasks;
  readonly #agent: AgentRequest;
  readonly #owner: string;
  readonly #abort = new AbortController();
  readonly #onAgentAbort = () => this.#abort.abort(this.#ctx.signal.reason);
  #detach: (task: HeldTask) => void = () => {};
  #reserved = false;
  #task: HeldTask | undefined;

  constructor(ctx: GatewayContext, tasks: HeldTasks, agent: AgentRequest) {
    this.#ctx = ctx;
    this.#tasks = tasks;
    this.#agent = agent;
    this.#owner = ctx.identity?.name ?? '';
    this.detached = new Promise((resolve) => {
      this.#detach = resolve;
    });
    if (ctx.signal.aborted) this.#abort.abort(ctx.signal.reason);
    else ctx.signal.addEventListener('abort', this.#onAgentAbort, { once: true });
    this.view = heldView(ctx, this, this.#abort.signal, () => this.#task !== undefined);
    this.agent = withoutExtensionOnceHeld(agent, () => this.#task !== undefined);
  }

  reserve(): { refused: string } | undefined {
    if (this.#reserved) return undefined; // asked again (another attempt of the same call)
    const refusal = this.#tasks.reserve(this.#owner);
    this.#reserved = refusal === undefined;
    return refusal;
  }

  held(approval: HeldApproval): void {
    if (this.#task || !this.#reserved || this.#abort.signal.aborted) return;
    this.#ctx.signal.removeEventListener('abort', this.#onAgentAbort);
    // The gateway holds the task: once approved, the upstream answers the call itself.
    const { task: requested, ...params } = this.#ctx.params;
    this.#ctx.params = params;
    const ttl = (requested as { ttl?: unknown } | undefined)?.ttl;
    const session = this.#agent.session;
    this.#task = this.#tasks.create({
      owner: this.#owner,
      tool: String(params.name ?? ''),
      approval,
      ...(typeof ttl === 'number' ? { requestedTtlMs: ttl } : {}),
      taint: currentRequestTaint(),
      abort: (reason) => this.#abort.abort(reason),
      ...(session ? { onStatus: (state: HeldTaskState) => notifyStatus(session.server, state) } : {}),
    });
    this.#detach(this.#task);
  }

  /** The pipeline answered before any hold: give the reservation back, if there was one. */
  settledFirst(): void {
    this.#ctx.signal.removeEventListener('abort', this.#onAgentAbort);
    if (this.#reserved && !this.#task) this.#tasks.release(this.#owner);
  }
}

/**
 * `ctx` as the stages below see it: the call's own signal (the agent's until the call is held as a
 * task, then the task's), no progress once held, and the listener for the tier stage.
 */
function heldView(
  ctx: GatewayContext,
  listener: HeldCallListener,
  signal: AbortSignal,
  isHeld: () => boolean,
): GatewayContext {
  return Object.create(ctx, {
    params: {
      get: () => ctx.params,
      set: (value: Record<string, unknown>) => {
        ctx.params = value;
      },
      enumerable: true,
    },
    signal: { get: () => signal, enumerable: true },
    sendProgress: {
      value: (update: Parameters<GatewayContext['sendProgress']>[0]) =>
        isHeld() ? Promise.resolve() : ctx.sendProgress(update),
      enumerable: true,
    },
    [HELD_CALL]: { value: listener },
  }) as GatewayContext;
}

/** `agent` whose client capabilities lose the tasks extension once the call is held (`isHeld`). */
function withoutExtensionOnceHeld(agent: AgentRequest, isHeld: () => boolean): AgentRequest {
  const server = Object.create(agent.server, {
    getClientCapabilities: {
      value: () => {
        const caps = agent.server.getClientCapabilities();
        if (!isHeld() || !caps?.extensions) return caps;
        const { [TASKS_EXTENSION]: _dropped, ...extensions } = caps.extensions;
        return { ...caps, extensions };
      },
    },
  }) as AgentRequest['server'];
  return { ...agent, server };
}

/** `notifications/tasks/status` on the session's stream (through its outbound boundary), if it is still there. */
function notifyStatus(server: AgentRequest['server'], state: HeldTaskState): void {
  const notification = { method: 'notifications/tasks/status', params: { ...state } };
  (server.notification as (n: typeof notification) => Promise<void>)(notification).catch(() => {});
}
