/**
 * The tasks utility (2025-11-25) through the gateway. A task-augmented `tools/call` (`params.task`)
 * passes the whole pipeline like any call (authorize, pin, validate, tier — an approval is asked before
 * the task exists), reaches the upstream with `task`, and the upstream's `CreateTaskResult` is returned
 * to the agent; the task is then tracked as that identity's (task-owners.ts). `tasks/get`,
 * `tasks/result`, `tasks/cancel` are routed to the upstream that holds the task, for its owner only
 * (another identity gets "unknown task", the same answer as for an id that never existed);
 * `tasks/list` lists only the caller's tasks. Every answer passes the pipeline's pii stage and the
 * outbound boundary like any result.
 *
 * While an agent waits in `tasks/result`, the upstream delivers the task's server→client requests
 * (elicitation, sampling) naming the task (`related-task`): they go to that request of that agent
 * (upstream-interaction.ts), on any transport, and are sent to it on its request stream.
 *
 * A task-augmented call held for a human approval is answered with the gateway's own task
 * (held-task-stage.ts); these routes answer it for its owner only, from the held task itself.
 *
 * The 2026-07-28 tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`; task-extension.ts) passes
 * too: an agent that declares it in a request's client capabilities has that declaration forwarded with
 * its `tools/call`; an upstream's `resultType: "task"` answer is returned (through the pii stage and the
 * outbound boundary like any result) and tracked as the identity's with the same ownership rules;
 * `tasks/get`, `tasks/update` and `tasks/cancel` (served at the Node entry, task-extension-entry.ts:
 * the SDK has no runtime for them) reach the upstream that holds the task, for its owner only, through
 * the whole pipeline. An agent that did not declare the extension never gets a task (an upstream's task
 * answer to it is refused). 2026-07-28 agents do not use `params.task` (SEP-2663: the server decides): it
 * is removed before the call. A call held for approval of an agent that declared the extension becomes
 * the gateway's own task (held-task-stage.ts), answered here in the extension's shape.
 *
 * @example
 * const tasks = taskRoutes({ catalog, owners: new TaskOwners() });
 * await tasks.routes['tasks/get'](ctx, agentRequestStorage.getStore());
 */
import { type ClientCapabilities, RELATED_TASK_META_KEY } from '@modelcontextprotocol/server';
import { JSONRPC_INTERNAL_ERROR, JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';
import type { GatewayContext } from '../gateway/gateway-context.js';
import { runWithUpstreamHeaders } from '../identity/upstream-token-context.js';
import { currentRequestTaint } from '../pii/request-taint.js';
import type { AgentMcpEndpointOptions } from './agent-endpoint-options.js';
import { type AgentRequest, agentRequestStorage } from './agent-method-table.js';
import type { HeldTask } from './held-task.js';
import { heldTasksOf } from './held-tasks.js';
import { declaresTasksExtension, type ExtensionTaskMethod, taskHandleOf } from './task-extension.js';
import { type OwnedTask, TaskOwners } from './task-owners.js';
import { agentFacingTaskResult, createdTaskOf, type TaskMethod } from './task-wire.js';
import type { ForwardedMethod, UpstreamRequestOptions } from './upstream.js';
import type { CatalogRoute } from './upstream-catalog.js';
import {
  missingAgentCapability,
  type RelayedServerRequest,
  relayableCapabilities,
  relayRefusal,
  type UpstreamInteraction,
} from './upstream-interaction.js';
import { collectPages } from './upstream-wire.js';

type Forward = (
  ctx: GatewayContext,
  task: OwnedTask,
  method: AnyTaskMethod,
  params: Record<string, unknown>,
  options?: UpstreamRequestOptions,
) => Promise<Record<string, unknown>>;

/** Sends a task method to the upstream that holds `task`, with the request's upstream headers. */
async function forwardTask(
  deps: TaskRoutesDeps,
  ctx: GatewayContext,
  task: OwnedTask,
  method: AnyTaskMethod,
  params: Record<string, unknown>,
  options: UpstreamRequestOptions,
): Promise<Record<string, unknown>> {
  // The SDK types only the methods it has a runtime for; task methods carry their own schema (task-wire.ts).
  const send = () =>
    task.upstream.request(method as ForwardedMethod, params, {
      signal: ctx.signal,
      ...agentCapabilitiesOf(ctx),
      ...options,
    });
  const headers = deps.upstreamHeaders ? await deps.upstreamHeaders(ctx, task.upstream.name) : undefined;
  return headers && Object.keys(headers).length > 0 ? runWithUpstreamHeaders(headers, send) : send();
}

/**
 * A 2026-07-28 request's envelope declares what its agent can answer, the tasks extension included
 * (`relayableCapabilities`): forwarded task methods carry the agent's declaration, not an empty one.
 */
function agentCapabilitiesOf(ctx: GatewayContext): Pick<UpstreamRequestOptions, 'interaction'> {
  if (ctx.era !== 'modern') return {};
  const caps = agentRequestStorage.getStore()?.server.getClientCapabilities();
  return { interaction: { clientCapabilities: relayableCapabilities(caps) } };
}

/** Most `tasks/list` pages read from one upstream for one agent's listing. */
export const DEFAULT_MAX_TASK_LIST_PAGES = 100;

type Route = (ctx: GatewayContext, agent: AgentRequest | undefined) => Promise<unknown>;
/** Every task method of either era. */
type AnyTaskMethod = TaskMethod | ExtensionTaskMethod;

export interface TaskRoutesDeps {
  /** Where a tool's upstream is found when its task is created. */
  catalog: { resolveTool?: (name: string) => CatalogRoute | undefined };
  /** The ownership map. Default: a new {@link TaskOwners} with its defaults. */
  owners?: TaskOwners;
  upstreamHeaders?: AgentMcpEndpointOptions['upstreamHeaders'];
}

export interface TaskRoutes {
  /** The task methods' routes (both eras; `tasks/update` is the extension's). */
  routes: Record<AnyTaskMethod, Route>;
  /**
   * Runs a `tools/call` (`run`) and tracks the task it created, if any, as the caller's. Removes
   * `params.task` for 2026-07-28 agents.
   */
  trackCall(ctx: GatewayContext, run: () => Promise<unknown>): Promise<unknown>;
}

export function taskRoutes(deps: TaskRoutesDeps): TaskRoutes {
  const owners = deps.owners ?? new TaskOwners();
  const forward: Forward = (ctx, task, method, params, options = {}) =>
    forwardTask(deps, ctx, task, method, params, options);
  const owned = (ctx: GatewayContext): OwnedTask => {
    const taskId = ctx.params.taskId;
    const task = typeof taskId === 'string' ? owners.find(ownerOf(ctx), taskId) : undefined;
    if (!task) throw unknownTask(taskId);
    currentRequestTaint()?.absorb(task.taint);
    return task;
  };
  // A call held for approval as a task (held-task-stage.ts) is answered by the gateway itself.
  const routes: Record<AnyTaskMethod, Route> = {
    'tasks/get': async (ctx) => {
      const held = heldTask(ctx);
      if (held) return ctx.era === 'modern' ? held.detailedState() : held.state();
      const task = owned(ctx);
      return forward(ctx, task, 'tasks/get', { taskId: task.taskId });
    },
    'tasks/cancel': async (ctx) => {
      const held = heldTask(ctx);
      if (held) return ctx.era === 'modern' ? held.cancel().then(() => ({})) : held.cancel();
      const task = owned(ctx);
      return forward(ctx, task, 'tasks/cancel', { taskId: task.taskId });
    },
    // The extension's: a held task never asks the agent for input (a person decides), so nothing to deliver.
    'tasks/update': async (ctx) => {
      if (heldTask(ctx)) return {};
      const task = owned(ctx);
      return forward(ctx, task, 'tasks/update', {
        taskId: task.taskId,
        inputResponses: ctx.params.inputResponses ?? {},
      });
    },
    'tasks/result': async (ctx, agent) => {
      const held = heldTask(ctx);
      if (held) return heldTaskResult(held, ctx.signal);
      const task = owned(ctx);
      const interaction = taskInteraction(task.taskId, agent);
      return forward(ctx, task, 'tasks/result', { taskId: task.taskId }, interaction ? { interaction } : {});
    },
    'tasks/list': async (ctx) => {
      const mine = owners.of(ownerOf(ctx));
      const held = heldTasksOf(ctx)?.of(ownerOf(ctx)) ?? [];
      for (const task of [...mine, ...held]) currentRequestTaint()?.absorb(task.taint);
      return { tasks: [...held.map((t) => t.state()), ...(await listOwned(ctx, mine, forward))] };
    },
  };
  return {
    routes,
    trackCall: async (ctx, run) => {
      if (ctx.era === 'modern' && ctx.params.task !== undefined) {
        const { task: _ignored, ...params } = ctx.params;
        ctx.params = params;
      }
      const result = await run();
      const handle = taskHandleOf(result);
      if (handle) return trackHandle(ctx, handle, result, deps, owners);
      const created = createdTaskOf(result);
      const tool = String(ctx.params.name ?? '');
      const route = created ? deps.catalog.resolveTool?.(tool) : undefined;
      if (!created || !route) return result;
      const taint = currentRequestTaint();
      const task = { owner: ownerOf(ctx), taskId: created.taskId, upstream: route.upstream, tool };
      owners.record(taint ? { ...task, taint } : task, created.ttl);
      return agentFacingTaskResult(result as Record<string, unknown>);
    },
  };
}

/**
 * A 2026-07-28 task handle a `tools/call` answered: tracked as the caller's and returned as it came;
 * refused when the agent did not declare the extension on this request (it must never get a task).
 */
function trackHandle(
  ctx: GatewayContext,
  handle: { taskId: string; ttlMs: number | undefined },
  result: unknown,
  deps: TaskRoutesDeps,
  owners: TaskOwners,
): unknown {
  const tool = String(ctx.params.name ?? '');
  const route = deps.catalog.resolveTool?.(tool);
  const declared = declaresTasksExtension(agentRequestStorage.getStore()?.server.getClientCapabilities());
  if (ctx.era !== 'modern' || !declared || !route) {
    throw new WireError(
      JSONRPC_INTERNAL_ERROR,
      'AIRLOCK_UPSTREAM_FAILED',
      `The upstream answered '${tool}' with a task the agent did not declare it can handle (io.modelcontextprotocol/tasks)`,
    );
  }
  const taint = currentRequestTaint();
  const task = { owner: ownerOf(ctx), taskId: handle.taskId, upstream: route.upstream, tool };
  owners.record(taint ? { ...task, taint } : task, handle.ttlMs);
  return result;
}

/** The caller's call held as task `params.taskId`, if it is one (its taint absorbed). */
function heldTask(ctx: GatewayContext): HeldTask | undefined {
  const taskId = ctx.params.taskId;
  const held = typeof taskId === 'string' ? heldTasksOf(ctx)?.find(ownerOf(ctx), taskId) : undefined;
  if (held) currentRequestTaint()?.absorb(held.taint);
  return held;
}

/** What the held call answered, marked as the task's (`related-task`), once it finished. */
async function heldTaskResult(held: HeldTask, signal: AbortSignal): Promise<unknown> {
  const result = (await held.result(signal)) as Record<string, unknown>;
  const meta = result._meta !== null && typeof result._meta === 'object' ? result._meta : {};
  return { ...result, _meta: { ...meta, [RELATED_TASK_META_KEY]: { taskId: held.taskId } } };
}

function ownerOf(ctx: GatewayContext): string {
  return ctx.identity?.name ?? '';
}

function unknownTask(taskId: unknown): WireError {
  return new WireError(
    JSONRPC_INVALID_PARAMS,
    'AIRLOCK_TASK_UNKNOWN',
    `Unknown task '${String(taskId)}': it does not exist, expired, or was not created by you`,
  );
}

/**
 * Where the upstream's requests for task `taskId` go while its owner waits in `tasks/result`: to that
 * agent request, as real server→client requests on its stream, when the agent can answer them.
 */
function taskInteraction(taskId: string, agent: AgentRequest | undefined): UpstreamInteraction | undefined {
  if (!agent) return undefined;
  const caps: ClientCapabilities = relayableCapabilities(agent.server.getClientCapabilities());
  const taint = currentRequestTaint();
  const send = agent.serverCtx.mcpReq.send as (
    r: RelayedServerRequest,
    o: { signal: AbortSignal },
  ) => Promise<Record<string, unknown>>;
  return {
    relatedTaskId: taskId,
    clientCapabilities: caps,
    ...(taint ? { taint } : {}),
    onServerRequest: async (request, signal) => {
      const missing = missingAgentCapability(request, caps);
      if (missing) {
        throw relayRefusal(
          'AIRLOCK_AGENT_CAPABILITY_MISSING',
          `The agent cannot answer ${request.method}: it did not declare the '${missing}' capability`,
        );
      }
      return send(request, { signal });
    },
    onLog: (params) => {
      agent.serverCtx.mcpReq.notify({ method: 'notifications/message', params }).catch(() => {});
    },
  };
}

/** The caller's tasks as their upstreams list them now (read per upstream, kept only when the caller's). */
async function listOwned(
  ctx: GatewayContext,
  tasks: OwnedTask[],
  forward: (
    ctx: GatewayContext,
    task: OwnedTask,
    method: TaskMethod,
    params: Record<string, unknown>,
  ) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>[]> {
  const byUpstream = new Map<string, OwnedTask[]>();
  for (const t of tasks) byUpstream.set(t.upstream.name, [...(byUpstream.get(t.upstream.name) ?? []), t]);
  const out: Record<string, unknown>[] = [];
  for (const group of byUpstream.values()) {
    const first = group[0];
    if (!first) continue;
    const mine = new Set(group.map((t) => t.taskId));
    if (first.upstream.capabilities()?.tasks?.list) {
      const listed = await collectPages(
        (cursor) => forward(ctx, first, 'tasks/list', cursor === undefined ? {} : { cursor }),
        'tasks',
        DEFAULT_MAX_TASK_LIST_PAGES,
        () => new Error(`tasks/list of upstream '${first.upstream.name}' did not end`),
      );
      out.push(...listed.filter((t) => typeof t.taskId === 'string' && mine.has(t.taskId)));
    } else {
      for (const t of group) out.push(await forward(ctx, t, 'tasks/get', { taskId: t.taskId }));
    }
  }
  return out;
}
