/**
 * The agent-facing method table: every JSON-RPC request method an agent may send that the gateway
 * serves, registered on each agent-facing SDK `Server` with one handler that runs the gateway pipeline
 * (`run`), and the context of the agent request behind a pipeline run. The routes themselves (what the
 * pipeline's terminal does per method) are in agent-mcp-endpoint.ts, keyed by the same names.
 *
 * @example
 * registerAgentMethods(server, (method, params, ctx) => endpoint.run('legacy', server, method, params, ctx));
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerCapabilities, ServerContext } from '@modelcontextprotocol/server';
import type { LegacySession } from './agent-legacy-sessions.js';
import type { GuardedServer } from './agent-outbound-guard.js';
import { TASK_METHODS } from './task-wire.js';

/** Request methods served through the gateway pipeline (the SDK answers `initialize`, `ping`, `server/discover`). */
export const AGENT_METHODS = [
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
  // Replaces the SDK's built-in handler: the level goes through the pipeline and to the upstreams.
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
  // 2025-11-25 tasks utility (task-routes.ts); 2026-07-28 agents get "method not found" from the SDK.
  ...TASK_METHODS,
] as const;
export type AgentMethod = (typeof AGENT_METHODS)[number];

/** What the routes use of the agent-facing server behind a request (an SDK server, or the direct path's). */
export type AgentFacingServer = Pick<
  GuardedServer,
  'getClientCapabilities' | 'getCapabilities' | 'notification'
>;

/** What the routes use of the SDK's request context. */
export interface AgentRequestContext {
  mcpReq: Pick<ServerContext['mcpReq'], 'signal' | 'envelope' | 'notify' | 'send'>;
}

/** What the routes need to know about the agent request behind a gateway context. */
export interface AgentRequest {
  server: AgentFacingServer;
  serverCtx: AgentRequestContext;
  session: LegacySession | undefined;
  /** Set by the `subscriptions/listen` route: the filter's URIs after the pipeline (de-tokenized). */
  listenUris?: string[];
}

/**
 * The agent request behind the pipeline run in progress. A context, not a map keyed by the
 * `GatewayContext`: stages may hand `next` a derived context (e.g. the budget stage's timeout view).
 */
export const agentRequestStorage = new AsyncLocalStorage<AgentRequest>();

type Run = (method: string, params: unknown, ctx: ServerContext) => Promise<unknown>;

/** The capability an agent-facing server must advertise to serve each method. */
const METHOD_CAPABILITY: Record<AgentMethod, keyof ServerCapabilities> = {
  'tools/list': 'tools',
  'tools/call': 'tools',
  'prompts/list': 'prompts',
  'prompts/get': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resources',
  'resources/read': 'resources',
  'completion/complete': 'completions',
  'logging/setLevel': 'logging',
  'resources/subscribe': 'resources',
  'resources/unsubscribe': 'resources',
  'tasks/get': 'tasks',
  'tasks/result': 'tasks',
  'tasks/list': 'tasks',
  'tasks/cancel': 'tasks',
};

/**
 * Registers each method of {@link AGENT_METHODS} whose capability `server` advertises, each running
 * `run` (the others are answered "method not found" by the SDK).
 */
export function registerAgentMethods(server: GuardedServer, run: Run): void {
  // The SDK types each method's handler and result; the gateway's results are the upstreams' (validated there).
  const register = server.setRequestHandler.bind(server) as (
    method: string,
    handler: (request: { method: string; params?: unknown }, ctx: ServerContext) => Promise<unknown>,
  ) => void;
  const caps = server.getCapabilities();
  for (const method of AGENT_METHODS) {
    if (caps[METHOD_CAPABILITY[method]]) register(method, (r, ctx) => run(r.method, r.params, ctx));
  }
}
