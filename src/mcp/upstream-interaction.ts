/**
 * Relay of the upstream → agent traffic that is not a response: server→client requests
 * (`sampling/createMessage`, `elicitation/create`, `roots/list`, pushed by 2025-11-25 upstreams) and
 * `notifications/message` (logging), for the agent request being served.
 *
 * **Correlation.** One upstream `Client` is shared by every agent, so each such message must be tied to
 * the agent request it belongs to. The caller attaches an {@link UpstreamInteraction} to each forwarded
 * request (`Upstream.request(..., { interaction })`):
 *
 * 1. Streamable HTTP upstreams: a server sends what relates to a request on the SSE stream of the POST
 *    that carried it. `Upstream.request()` issues the SDK call inside `upstreamCallStorage.run()`; the
 *    SDK reads that stream in the continuation of the POST, so its handlers run in the request's
 *    AsyncLocalStorage context — exact correlation. Messages on the standalone GET stream carry no
 *    request context: requests are refused, logs dropped.
 * 2. Any transport: a message naming a task (`_meta['io.modelcontextprotocol/related-task']`) goes to
 *    the in-flight `tasks/result` of the agent that owns that task (task-routes.ts) — exact.
 * 3. stdio upstreams in the 2025-11-25 era: the pipe carries no correlation (the upstream SDK's
 *    `relatedRequestId` only picks an HTTP stream; stdio drops it). A message is related to the only
 *    agent request in flight on that upstream that can take it; with none, or several (ambiguous), a
 *    request is refused with a clear JSON-RPC error (the upstream decides what to do with it) and a log
 *    is dropped. Never guessed between agents. stdio upstreams in the 2026-07-28 era (`protocol: auto`
 *    with an SDK v2 server) never push: any number of calls in flight each get their own
 *    `input_required` (relayed-call.ts).
 *
 * Connections (spawn, reconnect) are made outside any request context (`upstreamCallStorage.exit`), so a
 * restart triggered while an agent's request runs cannot tie the new connection to that agent.
 *
 * 2026-07-28 upstreams never push requests: they answer `input_required` (see relayed-call.ts). Client
 * capabilities are then declared per request (`clientCapabilities`, what the agent behind it can
 * answer); towards 2025-11-25 upstreams they are declared once at `initialize`
 * ({@link RELAYED_CLIENT_CAPABILITIES}) and each request is checked against its agent.
 *
 * @example
 * const interaction: UpstreamInteraction = {
 *   onServerRequest: (req, signal) => askTheAgent(req, signal),
 *   onLog: (params) => relayLog(params),
 *   clientCapabilities: { elicitation: { form: {} } },
 * };
 * await upstream.request('tools/call', { name: 'book', arguments: {} }, { interaction });
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Client,
  type ClientCapabilities,
  type LoggingLevel,
  type LoggingMessageNotificationParams,
  ProtocolError,
  RELATED_TASK_META_KEY,
} from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import { JSONRPC_INTERNAL_ERROR } from '../errors/wire-error.js';
import type { RequestTaint } from '../pii/request-taint.js';
import { declaresTasksExtension, TASKS_EXTENSION } from './task-extension.js';

/** The server→client requests the gateway relays to agents. */
export type RelayedRequestMethod = 'sampling/createMessage' | 'elicitation/create' | 'roots/list';

export const RELAYED_REQUEST_METHODS: readonly RelayedRequestMethod[] = [
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
];

/** A server→client request as the upstream sent it (JSON-RPC envelope stripped). */
export interface RelayedServerRequest {
  method: RelayedRequestMethod;
  params?: Record<string, unknown>;
}

/** How upstream traffic for one forwarded request reaches its agent. */
export interface UpstreamInteraction {
  /**
   * The upstream (2025-11-25) sent a server→client request while serving this request: resolve with the
   * agent's result, or throw (a `ProtocolError` reaches the upstream as is). Absent: refused.
   */
  onServerRequest?: (request: RelayedServerRequest, signal: AbortSignal) => Promise<Record<string, unknown>>;
  /** The upstream sent `notifications/message` while serving this request. Absent: dropped. */
  onLog?: (params: LoggingMessageNotificationParams) => void;
  /**
   * Client capabilities of the agent behind this request that the gateway can relay (`sampling`,
   * `elicitation`, `roots`); sent in the 2026-07-28 request envelope. Absent: none.
   */
  clientCapabilities?: ClientCapabilities;
  /** Log level for this request; sent in the 2026-07-28 request envelope. Absent: no logs. */
  logLevel?: LoggingLevel;
  /** Values de-tokenized for the agent request: its upstream's stderr lines are redacted with them. */
  taint?: RequestTaint;
  /**
   * The upstream task this request serves (`tasks/result` of a task the agent owns): server→client
   * requests and logs naming that task (`related-task`) go to this request on any transport.
   */
  relatedTaskId?: string;
}

/**
 * Client capabilities declared to 2025-11-25 upstreams at `initialize` (one connection serves every
 * agent, so the widest set; each relayed request is then checked against its own agent).
 */
export const RELAYED_CLIENT_CAPABILITIES: ClientCapabilities = {
  sampling: { context: {}, tools: {} },
  elicitation: { form: {}, url: {} },
  roots: {},
};

interface CallScope {
  owner: object;
  interaction: UpstreamInteraction | undefined;
}

/** The request context the SDK's handlers run in (see the module comment). */
export const upstreamCallStorage = new AsyncLocalStorage<CallScope>();

/**
 * The relayable part of an agent's client capabilities (`sampling`, `elicitation`, `roots`, and the
 * 2026-07-28 tasks extension).
 *
 * @example
 * relayableCapabilities(server.getClientCapabilities()); // { elicitation: { form: {} } }
 */
export function relayableCapabilities(caps: ClientCapabilities | undefined): ClientCapabilities {
  const out: ClientCapabilities = {};
  if (caps?.sampling) out.sampling = caps.sampling;
  if (caps?.elicitation) out.elicitation = caps.elicitation;
  if (caps?.roots) out.roots = caps.roots;
  // 2026-07-28 tasks extension: the upstream may answer the agent's call with a task (task-routes.ts).
  if (declaresTasksExtension(caps)) out.extensions = { [TASKS_EXTENSION]: {} };
  return out;
}

/**
 * Why the agent with capabilities `caps` cannot answer `request`, or undefined when it can (the
 * capability rules of the MCP specification: an empty `elicitation` object means form mode).
 */
export function missingAgentCapability(
  request: RelayedServerRequest,
  caps: ClientCapabilities | undefined,
): string | undefined {
  const params = request.params ?? {};
  switch (request.method) {
    case 'sampling/createMessage':
      if (!caps?.sampling) return 'sampling';
      if (Array.isArray(params.tools) && !caps.sampling.tools) return 'sampling.tools';
      return undefined;
    case 'elicitation/create': {
      const elicitation = caps?.elicitation as Record<string, unknown> | undefined;
      if (!elicitation) return 'elicitation';
      if (params.mode === 'url') return elicitation.url ? undefined : 'elicitation.url';
      const formOnly = Object.keys(elicitation).length === 0;
      return formOnly || elicitation.form ? undefined : 'elicitation.form';
    }
    case 'roots/list':
      return caps?.roots ? undefined : 'roots';
  }
}

/** A JSON-RPC error answered to the upstream when a relayed request cannot reach an agent. */
export function relayRefusal(airlock: string, message: string): ProtocolError {
  return new ProtocolError(JSONRPC_INTERNAL_ERROR, message, { airlock });
}

export interface InteractionHandlerOptions {
  /** Upstream name, for messages. */
  name: string;
  /** The transport carries no request correlation (stdio). */
  uncorrelated: boolean;
  /** Interactions of the requests in flight on this upstream (for uncorrelated transports). */
  inFlight: ReadonlySet<UpstreamInteraction>;
  /** Register the server→client request handlers (the client declared the capabilities). */
  serverRequests: boolean;
  log: Logger;
  /** Only while this returns true (the connection is current). */
  isCurrent: () => boolean;
  /** A log message related to no agent request in flight (unsolicited). Absent: dropped. */
  onUnrelatedLog?: (params: LoggingMessageNotificationParams) => void;
}

type Related = { interaction: UpstreamInteraction } | { refusal: string; why: string; unsolicited?: true };

/** The task a server→client request says it belongs to (`_meta['io.modelcontextprotocol/related-task']`). */
export function relatedTaskOf(params: unknown): string | undefined {
  const meta = (params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  const related = meta?.[RELATED_TASK_META_KEY] as { taskId?: unknown } | undefined;
  return typeof related?.taskId === 'string' ? related.taskId : undefined;
}

/**
 * The agent request an upstream message belongs to (see the module comment): the request context it
 * arrived in (Streamable HTTP), else the in-flight request serving the task the message names
 * (`related-task`, exact on any transport), else the only in-flight request that can take it (stdio).
 */
export function relatedInteraction(
  owner: object,
  options: Pick<InteractionHandlerOptions, 'uncorrelated' | 'inFlight'>,
  want: (i: UpstreamInteraction) => boolean,
  taskId?: string,
): Related {
  const unrelated = 'AIRLOCK_SERVER_REQUEST_UNRELATED';
  const scope = upstreamCallStorage.getStore();
  if (scope && scope.owner === owner) {
    if (scope.interaction && want(scope.interaction)) return { interaction: scope.interaction };
    return { refusal: unrelated, why: 'no agent request can take it' };
  }
  if (taskId !== undefined) {
    // Named for a task: only a request serving that task (its owner's) may take it, never a guess.
    const serving = [...options.inFlight].find((i) => i.relatedTaskId === taskId && want(i));
    if (serving) return { interaction: serving };
    return { refusal: unrelated, why: `no agent request is waiting on task '${taskId}'` };
  }
  if (!options.uncorrelated) {
    const why = 'it is not related to an agent request (it arrived outside any request stream)';
    return { refusal: unrelated, why, unsolicited: true };
  }
  const candidates = [...options.inFlight].filter(want);
  const only = candidates[0];
  if (candidates.length === 1 && only) return { interaction: only };
  if (options.inFlight.size === 0)
    return { refusal: unrelated, why: 'no agent request is in flight', unsolicited: true };
  if (candidates.length === 0) return { refusal: unrelated, why: 'no agent request in flight can take it' };
  return {
    refusal: 'AIRLOCK_SERVER_REQUEST_AMBIGUOUS',
    why: `${candidates.length} agent requests are in flight and this transport does not say which one it belongs to`,
  };
}

/**
 * Registers, on an upstream `Client`, the handlers that relay server→client requests and log messages
 * to the related agent request. `owner` is the `Upstream` (compared with the request scope).
 */
export function installInteractionHandlers(
  client: Client,
  owner: object,
  options: InteractionHandlerOptions,
): void {
  if (options.serverRequests) {
    for (const method of RELAYED_REQUEST_METHODS) {
      const handler = async (
        request: { method: string; params?: unknown },
        ctx: { mcpReq: { signal: AbortSignal } },
      ) => {
        const canAsk = (i: UpstreamInteraction) => i.onServerRequest !== undefined;
        const found = relatedInteraction(owner, options, canAsk, relatedTaskOf(request.params));
        const ask = 'interaction' in found ? found.interaction.onServerRequest : undefined;
        if (!ask) {
          const { refusal, why, unsolicited } =
            'refusal' in found ? found : { ...NO_TAKER, unsolicited: false };
          // Servers ask `roots/list` on their own after `initialize`: with no agent request that is routine.
          const routine = method === 'roots/list' && unsolicited === true;
          options.log[routine ? 'debug' : 'info']({ method, reason: why }, 'server→client request refused');
          throw relayRefusal(
            refusal,
            `Airlock cannot relay ${method} from upstream '${options.name}' to an agent: ${why}`,
          );
        }
        const params = isRecord(request.params) ? request.params : undefined;
        return ask(params ? { method, params } : { method }, ctx.mcpReq.signal);
      };
      // The SDK types each method's result; the agent's answer is relayed as it came.
      (client.setRequestHandler as (m: string, h: typeof handler) => void)(method, handler);
    }
  }

  client.setNotificationHandler('notifications/message', (notification) => {
    if (!options.isCurrent()) return;
    const canLog = (i: UpstreamInteraction) => i.onLog !== undefined;
    const found = relatedInteraction(owner, options, canLog, relatedTaskOf(notification.params));
    if ('refusal' in found) {
      // Not a request's: sessions that asked for logs may get it (agent-subscriptions.ts).
      // Only when no agent request could own it: an ambiguous one may carry another agent's data.
      if (found.unsolicited && options.onUnrelatedLog) options.onUnrelatedLog(notification.params);
      else options.log.debug({ reason: found.why }, 'upstream log message not relayed');
      return;
    }
    found.interaction.onLog?.(notification.params);
  });
}

const NO_TAKER = { refusal: 'AIRLOCK_SERVER_REQUEST_UNRELATED', why: 'no agent request can take it' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
