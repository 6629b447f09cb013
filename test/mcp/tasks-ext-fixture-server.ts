/**
 * A 2026-07-28 upstream speaking the tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`) over
 * Streamable HTTP on 127.0.0.1, for the extension relay tests. The SDK v2 (`createMcpHandler`, low-level
 * `Server`) serves discovery, `tools/list` and `tools/call`; it has no runtime for the extension's
 * methods, so `tasks/get`, `tasks/update` and `tasks/cancel` are answered here at the HTTP entry (as the
 * binding asks, `Mcp-Name` must equal `params.taskId`: a mismatch is refused with 400 / -32020).
 *
 * Tools (a task only when the request's client capabilities declare the extension, else a plain result):
 * - `report` `{ who }`: completes after `TASK_MS` with `report for <who>; contact <who>@example.com`.
 * - `slow` `{ ms }`: completes after `ms` unless cancelled.
 * - `ask` `{ who }`: turns `input_required` (an elicitation for a name) until `tasks/update` answers it.
 * - `lookup` `{ who }`: never a task: `<who>: contact <who>@example.com`.
 *
 * @example
 * const upstream = await startTasksExtServer();
 * catalog = UpstreamCatalog.fromConfig([{ name: 'ext', kind: 'http', url: upstream.url, protocol: '2026-07-28' }]);
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  Server,
  type ServerContext,
} from '@modelcontextprotocol/server';

type CallRequest = { params: { name: string; arguments?: Record<string, unknown> } };

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
/** How long `report` works before it completes. */
export const TASK_MS = 40;

/** One task-method request the fixture received (method, task id, `Mcp-Name` header). */
export interface TaskMethodCall {
  method: string;
  taskId: unknown;
  mcpName: string | undefined;
  params: Record<string, unknown>;
}

export interface TasksExtServer {
  url: string;
  /** Every `tasks/*` request received, in order. */
  taskCalls: TaskMethodCall[];
  /** Every `tools/call` envelope's client capabilities, in order. */
  callCapabilities: Record<string, unknown>[];
  /** While true, `tasks/*` requests are recorded and left unanswered (an upstream that hangs). */
  holdTaskMethods: boolean;
  close(): Promise<void>;
}

interface FixtureTask {
  taskId: string;
  status: 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';
  createdAt: string;
  lastUpdatedAt: string;
  result?: Record<string, unknown>;
  inputRequests?: Record<string, unknown>;
  timer?: NodeJS.Timeout;
}

const ARGS = {
  type: 'object' as const,
  properties: { who: { type: 'string' }, ms: { type: 'number' } },
};

const TOOLS = [
  { name: 'report', description: 'Writes a report (as a task)', inputSchema: ARGS },
  { name: 'slow', description: 'Works for ms milliseconds (as a task)', inputSchema: ARGS },
  { name: 'ask', description: 'Asks for a name (as a task)', inputSchema: ARGS },
  { name: 'lookup', description: 'Looks a person up (never a task)', inputSchema: ARGS },
];

function text(value: string): Record<string, unknown> {
  return { content: [{ type: 'text', text: value }] };
}

type Tasks = Map<string, FixtureTask>;

/** Moves a task on (never out of a terminal status). */
function settle(task: FixtureTask, status: FixtureTask['status'], result?: Record<string, unknown>): void {
  if (task.status === 'completed' || task.status === 'cancelled' || task.status === 'failed') return;
  task.status = status;
  task.lastUpdatedAt = new Date().toISOString();
  if (result) task.result = result;
  delete task.inputRequests;
}

/** A new task for a call of `tool`, seeded `working`, moving on by itself. */
function createTask(tasks: Tasks, tool: string, args: Record<string, unknown>): FixtureTask {
  const now = new Date().toISOString();
  const task: FixtureTask = { taskId: randomUUID(), status: 'working', createdAt: now, lastUpdatedAt: now };
  tasks.set(task.taskId, task);
  const who = String(args.who ?? 'nobody');
  // `ask` is seeded `working` too (the SDK server refuses a tools/call answer carrying `inputRequests`).
  const ms = tool === 'slow' ? Number(args.ms ?? 60_000) : TASK_MS;
  const next =
    tool === 'ask'
      ? () => askForName(task, who)
      : () => settle(task, 'completed', text(reportText(tool, who)));
  task.timer = setTimeout(next, ms);
  task.timer.unref();
  return task;
}

function askForName(task: FixtureTask, who: string): void {
  if (task.status !== 'working') return;
  task.status = 'input_required';
  task.lastUpdatedAt = new Date().toISOString();
  task.inputRequests = {
    name: {
      method: 'elicitation/create',
      params: {
        mode: 'form',
        message: `Name for ${who}?`,
        requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      },
    },
  };
}

/** Starts the fixture on an ephemeral loopback port. */
export async function startTasksExtServer(): Promise<TasksExtServer> {
  const tasks: Tasks = new Map();
  const taskCalls: TaskMethodCall[] = [];
  const callCapabilities: Record<string, unknown>[] = [];
  const build = () => {
    const server = new Server(
      { name: 'tasks-ext-fixture', version: '1.0.0' },
      { capabilities: { tools: {}, extensions: { [TASKS_EXTENSION]: {} } } },
    );
    server.setRequestHandler('tools/list', async () => ({ tools: TOOLS }));
    // The extension's task handle is not a CallToolResult: the handler's result type is widened.
    const setHandler = server.setRequestHandler.bind(server) as (
      method: 'tools/call',
      handler: (request: CallRequest, ctx: ServerContext) => Promise<Record<string, unknown>>,
    ) => void;
    setHandler('tools/call', async (request, ctx) => {
      const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
      const caps = (envelope[CLIENT_CAPABILITIES_META_KEY] ?? {}) as Record<string, unknown>;
      callCapabilities.push(caps);
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      const declared = (caps.extensions as Record<string, unknown> | undefined)?.[TASKS_EXTENSION];
      if (!declared || request.params.name === 'lookup')
        return text(reportText(request.params.name, String(args.who ?? 'nobody')));
      const task = createTask(tasks, request.params.name, args);
      return { resultType: 'task', ...wireTask(task) };
    });
    return server;
  };
  const sdk = toNodeHandler(createMcpHandler(build, { keepAliveMs: 0 }));
  const http: HttpServer = createServer((req, res) => {
    const method = req.headers['mcp-method'];
    if (typeof method === 'string' && method.startsWith('tasks/')) {
      // A held request is recorded by its headers only (its body is never read).
      const mcpName = req.headers['mcp-name'] as string | undefined;
      if (fixture.holdTaskMethods) taskCalls.push({ method, taskId: undefined, mcpName, params: {} });
      else void answerTaskMethod(req, res, tasks, taskCalls);
      return;
    }
    void sdk(req, res);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  const fixture: TasksExtServer = {
    url: `http://127.0.0.1:${port}/mcp`,
    taskCalls,
    callCapabilities,
    holdTaskMethods: false,
    close: () =>
      new Promise<void>((resolve) => {
        for (const task of tasks.values()) clearTimeout(task.timer);
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
  return fixture;
}

function reportText(tool: string, who: string): string {
  if (tool === 'slow') return 'slow work done';
  return tool === 'lookup'
    ? `${who}: contact ${who}@example.com`
    : `report for ${who}; contact ${who}@example.com`;
}

function wireTask(task: FixtureTask): Record<string, unknown> {
  const out: Record<string, unknown> = {
    taskId: task.taskId,
    status: task.status,
    createdAt: task.createdAt,
    lastUpdatedAt: task.lastUpdatedAt,
    ttlMs: 60_000,
    pollIntervalMs: 20,
  };
  if (task.result) out.result = task.result;
  if (task.inputRequests) out.inputRequests = task.inputRequests;
  return out;
}

async function answerTaskMethod(
  req: IncomingMessage,
  res: ServerResponse,
  tasks: Tasks,
  calls: TaskMethodCall[],
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    id: number | string;
    method: string;
    params?: Record<string, unknown>;
  };
  const params = body.params ?? {};
  const mcpName = typeof req.headers['mcp-name'] === 'string' ? req.headers['mcp-name'] : undefined;
  calls.push({ method: body.method, taskId: params.taskId, mcpName, params });
  const reply = (status: number, message: Record<string, unknown>) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, ...message }));
  };
  if (mcpName !== params.taskId) {
    reply(400, { error: { code: -32020, message: 'Mcp-Name does not match params.taskId' } });
    return;
  }
  const task = tasks.get(String(params.taskId));
  if (!task) {
    reply(200, { error: { code: -32602, message: `Unknown task ${String(params.taskId)}` } });
    return;
  }
  if (body.method === 'tasks/cancel') {
    clearTimeout(task.timer);
    settle(task, 'cancelled');
  } else if (body.method === 'tasks/update') {
    const answer = (params.inputResponses as Record<string, { content?: { name?: unknown } }> | undefined)
      ?.name;
    if (answer) settle(task, 'completed', text(`hello ${String(answer.content?.name)}`));
  }
  const result = body.method === 'tasks/get' ? wireTask(task) : {};
  reply(200, { result: { resultType: 'complete', ...result } });
}
