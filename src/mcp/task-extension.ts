/**
 * The 2026-07-28 tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`) on the wire: who declared
 * it, the task handle a `tools/call` may answer with (`resultType: "task"`), and the upstream leg of the
 * relay. The SDK v2 client has no runtime for the extension: its 2026-07-28 codec refuses a
 * `resultType: "task"` answer (`UNSUPPORTED_RESULT_TYPE`) before any result schema runs. For a
 * `tools/call` whose envelope declares the extension, {@link requestModernUpstream} sends the request
 * through the client's own request path with that one decode step widened (a task handle is returned
 * as it came, `resultType` included); every other answer is decoded by the SDK as before. `tasks/get`,
 * `tasks/update` and `tasks/cancel` are sent with a schema that accepts the task shapes (the SDK sets
 * `Mcp-Name` = `params.taskId` on them, as the HTTP binding asks).
 *
 * @example
 * declaresTasksExtension({ extensions: { 'io.modelcontextprotocol/tasks': {} } }); // true
 * taskHandleOf({ resultType: 'task', taskId: 't1', status: 'working', ttlMs: 60_000 }); // { taskId: 't1', ttlMs: 60000 }
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  type Client,
  type RequestOptions,
  type StandardSchemaV1,
  specTypeSchemas,
} from '@modelcontextprotocol/client';

/** The extension's identifier (capability key under `extensions`). */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** The methods the extension adds (2026-07-28). */
export const EXTENSION_TASK_METHODS = ['tasks/get', 'tasks/update', 'tasks/cancel'] as const;
export type ExtensionTaskMethod = (typeof EXTENSION_TASK_METHODS)[number];

/** Whether `method` is one of {@link EXTENSION_TASK_METHODS}. */
export function isExtensionTaskMethod(method: unknown): method is ExtensionTaskMethod {
  return (EXTENSION_TASK_METHODS as readonly unknown[]).includes(method);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether client capabilities declare the tasks extension. */
export function declaresTasksExtension(capabilities: unknown): boolean {
  const extensions = isRecord(capabilities) ? capabilities.extensions : undefined;
  return isRecord(extensions) && isRecord(extensions[TASKS_EXTENSION]);
}

/** `capabilities` with the tasks extension declared (server side: `server/discover`). */
export function withTasksExtension<T extends { extensions?: Record<string, unknown> }>(capabilities: T): T {
  return { ...capabilities, extensions: { ...(capabilities.extensions ?? {}), [TASKS_EXTENSION]: {} } };
}

/** The task a `resultType: "task"` answer announces (id and time to live), or undefined for any other result. */
export function taskHandleOf(result: unknown): { taskId: string; ttlMs: number | undefined } | undefined {
  if (!isRecord(result) || result.resultType !== 'task' || typeof result.taskId !== 'string')
    return undefined;
  return { taskId: result.taskId, ttlMs: typeof result.ttlMs === 'number' ? result.ttlMs : undefined };
}

const TASK_STATUSES: ReadonlySet<unknown> = new Set([
  'working',
  'input_required',
  'completed',
  'failed',
  'cancelled',
]);

function schema(check: (value: unknown) => string | undefined): StandardSchemaV1 {
  return {
    '~standard': {
      version: 1,
      vendor: 'airlock',
      validate: (value) => {
        const problem = check(value);
        return problem === undefined ? { value } : { issues: [{ message: problem }] };
      },
    },
  };
}

/** Whether `value` is a `Task` (handle or `tasks/get` answer): a string `taskId` and a known `status`. */
export function isTaskShape(value: unknown): boolean {
  return isRecord(value) && typeof value.taskId === 'string' && TASK_STATUSES.has(value.status);
}

/** {@link isTaskShape} as a result schema. */
const TASK_SHAPE = schema((value) =>
  isTaskShape(value) ? undefined : 'not a task: needs a string taskId and a known status',
);

/** `tasks/update` and `tasks/cancel` answer an (empty) acknowledgement. */
const ACKNOWLEDGEMENT = schema((value) => (isRecord(value) ? undefined : 'not an object'));

interface WireCodecLike {
  decodeResult(method: string, raw: unknown): unknown;
}
/** The SDK client's request path below `request()` (2.4.x): era codec, then one request with a result schema. */
interface ClientRequestPath {
  _wireCodec(): WireCodecLike;
  _requestWithSchemaViaCodec(
    codec: WireCodecLike,
    request: { method: string; params: Record<string, unknown> },
    resultSchema: StandardSchemaV1,
    options: RequestOptions,
  ): Promise<unknown>;
}

function hasRequestPath(client: unknown): client is ClientRequestPath {
  const c = client as Partial<ClientRequestPath>;
  return typeof c._wireCodec === 'function' && typeof c._requestWithSchemaViaCodec === 'function';
}

/** The client's codec with `resultType: "task"` answers of `tools/call` decoded as they came. */
function taskAwareCodec(codec: WireCodecLike): WireCodecLike {
  return Object.create(codec, {
    decodeResult: {
      value: (method: string, raw: unknown) =>
        method === 'tools/call' && isRecord(raw) && raw.resultType === 'task'
          ? { kind: 'complete', result: raw }
          : codec.decodeResult(method, raw),
    },
  }) as WireCodecLike;
}

/**
 * A request to a 2026-07-28 upstream that needs the extension's shapes, or undefined when the SDK's own
 * path applies: the extension's task methods, and a `tools/call` whose envelope declares the extension.
 */
export function requestModernUpstream(
  client: Client,
  request: { method: string; params: Record<string, unknown> },
  options: RequestOptions,
): Promise<unknown> | undefined {
  if (request.method === 'tasks/get') return client.request(request, TASK_SHAPE, options);
  if (request.method === 'tasks/update' || request.method === 'tasks/cancel')
    return client.request(request, ACKNOWLEDGEMENT, options);
  if (request.method !== 'tools/call') return undefined;
  const meta = request.params._meta;
  if (!isRecord(meta) || !declaresTasksExtension(meta[CLIENT_CAPABILITIES_META_KEY])) return undefined;
  const path: unknown = client;
  if (!hasRequestPath(path)) return undefined; // an SDK without that path: its own answer applies
  return path._requestWithSchemaViaCodec(taskAwareCodec(path._wireCodec()), request, CALL_OR_HANDLE, options);
}

/** A `tools/call` answer of a client that declared the extension: a task handle, or a `CallToolResult`. */
const CALL_OR_HANDLE: StandardSchemaV1 = {
  '~standard': {
    version: 1,
    vendor: 'airlock',
    validate: (value) =>
      isRecord(value) && value.resultType === 'task'
        ? TASK_SHAPE['~standard'].validate(value)
        : specTypeSchemas.CallToolResult['~standard'].validate(value),
  },
};
