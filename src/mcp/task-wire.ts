/**
 * Wire shapes of the 2025-11-25 tasks utility as the gateway relays it: which methods exist, the result
 * schema the upstream SDK `Client` must check each answer against (the SDK ships the task vocabulary as
 * schemas but no runtime, so task methods and task-augmented `tools/call` need an explicit one), and the
 * task a `CreateTaskResult` announces.
 *
 * @example
 * const schema = upstreamResultSchema('tools/call', { name: 'x', task: { ttl: 60_000 } }); // CallToolResult | CreateTaskResult
 * createdTaskOf({ task: { taskId: 't1', status: 'working', ttl: 60_000 } }); // { taskId: 't1', ttl: 60000 }
 */
import {
  type Client,
  type RequestOptions,
  type StandardSchemaV1,
  specTypeSchemas,
} from '@modelcontextprotocol/client';
import { requestModernUpstream } from './task-extension.js';

/** The task methods an agent may send (2025-11-25; the 2026-07-28 extension is not relayed yet). */
export const TASK_METHODS = ['tasks/get', 'tasks/result', 'tasks/list', 'tasks/cancel'] as const;
export type TaskMethod = (typeof TASK_METHODS)[number];

const TASK_RESULT_SCHEMAS: Record<TaskMethod, StandardSchemaV1> = {
  'tasks/get': specTypeSchemas.GetTaskResult,
  'tasks/result': specTypeSchemas.GetTaskPayloadResult,
  'tasks/list': specTypeSchemas.ListTasksResult,
  'tasks/cancel': specTypeSchemas.CancelTaskResult,
};

/** A `tools/call` answer that may be either shape: a task when the body carries `task`, else a tool result. */
const CALL_OR_TASK: StandardSchemaV1 = {
  '~standard': {
    version: 1,
    vendor: 'airlock',
    validate: (value) =>
      value !== null && typeof value === 'object' && 'task' in value
        ? specTypeSchemas.CreateTaskResult['~standard'].validate(value)
        : specTypeSchemas.CallToolResult['~standard'].validate(value),
  },
};

/**
 * The schema to check an upstream's answer to `method` with, or undefined when the SDK's own applies
 * (every method but the task methods and a task-augmented `tools/call`).
 */
export function upstreamResultSchema(
  method: string,
  params: Record<string, unknown>,
): StandardSchemaV1 | undefined {
  if (method === 'tools/call') return params.task !== undefined ? CALL_OR_TASK : undefined;
  return Object.hasOwn(TASK_RESULT_SCHEMAS, method) ? TASK_RESULT_SCHEMAS[method as TaskMethod] : undefined;
}

/** The task a `CreateTaskResult` announces (its id and time to live), or undefined for any other result. */
export function createdTaskOf(result: unknown): { taskId: string; ttl: number | undefined } | undefined {
  const task = (result as { task?: { taskId?: unknown; ttl?: unknown } } | null)?.task;
  if (!task || typeof task.taskId !== 'string') return undefined;
  return { taskId: task.taskId, ttl: typeof task.ttl === 'number' ? task.ttl : undefined };
}

/**
 * A `CreateTaskResult` as the agent-facing SDK `Server` lets it through `tools/call`: it refuses a body
 * with `task` and no `content` (no "result family defaults into an empty tool success"), so an empty
 * `content` rides along; agents read `task`.
 */
export function agentFacingTaskResult(result: Record<string, unknown>): Record<string, unknown> {
  return 'content' in result ? result : { ...result, content: [] };
}

/**
 * `client.request` with the result schema {@link upstreamResultSchema} picks: the SDK's own check for
 * every method it types, the task vocabulary's for task methods and task-augmented `tools/call`.
 */
export function requestUpstream(
  client: Client,
  request: { method: string; params: Record<string, unknown> },
  options: RequestOptions,
): Promise<unknown> {
  // 2026-07-28: the tasks extension's shapes (task-extension.ts).
  const modern =
    client.getProtocolEra() === 'modern' ? requestModernUpstream(client, request, options) : undefined;
  if (modern) return modern;
  const schema = upstreamResultSchema(request.method, request.params);
  if (schema) return client.request(request, schema, options);
  // A forwarded method the SDK types (ForwardedMethod): its own result check applies.
  return client.request(request as { method: 'tools/call'; params: Record<string, unknown> }, options);
}
