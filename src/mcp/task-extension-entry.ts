/**
 * The 2026-07-28 tasks extension's own methods (`tasks/get`, `tasks/update`, `tasks/cancel`; SEP-2663)
 * at the agent endpoint's Node entry. The SDK's 2026-07-28 server has no runtime for them (it answers
 * "method not found"), so they are served here, the way the direct path serves plain calls
 * (direct-calls.ts): the gateway pipeline runs on the parsed body with the endpoint's routes as terminal
 * (authenticate, budget, pii, ... then task-routes.ts: owner only, routed to the upstream that holds the
 * task), and the answer — `resultType: "complete"`, the server's identity in `_meta` — passes the
 * outbound boundary scoped to the identity, written as JSON by a {@link DirectAnswer}.
 *
 * Taken only when the request is one the SDK would accept: a 2026-07-28 request by the SDK's own
 * classifier whose standard headers agree with the body (`Mcp-Method`, `MCP-Protocol-Version`, and
 * `Mcp-Name` = `params.taskId`, as the binding asks) and whose envelope declares client capabilities.
 * Anything else goes the SDK's way, so a mismatched `Mcp-Name` gets the SDK's own 400 (its header-mismatch error).
 *
 * @example
 * const tasks = new TaskExtensionEntry({ pipeline, outbound, serverInfo, capabilities: () => caps, log });
 * const served = tasks.serve(req, res, parsedBody) ?? sdkHandler(req, res, parsedBody);
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AuthInfo,
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  classifyInboundRequest,
  type Implementation,
  isJsonContentType,
  ProtocolError,
  ProtocolErrorCode,
  type RequestId,
  SERVER_INFO_META_KEY,
  type ServerCapabilities,
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { GatewayContext, GatewayIdentity, Handler } from '../gateway/gateway-context.js';
import type { OutboundMessage } from '../pii/pii-boundary.js';
import { RequestTaint, withRequestTaint } from '../pii/request-taint.js';
import { identityFromAuthInfo } from './agent-auth-info.js';
import { type AgentRequest, agentRequestStorage } from './agent-method-table.js';
import { type AgentOutbound, OutboundGuard } from './agent-outbound-guard.js';
import { DirectAnswer } from './direct-call-answer.js';
import { headerOf, liftEnvelope } from './direct-call-request.js';
import { surelyModern } from './era-precheck.js';
import { toProtocolError } from './protocol-error-mapping.js';
import { type ExtensionTaskMethod, isExtensionTaskMethod } from './task-extension.js';

export interface TaskExtensionEntryOptions {
  /** The gateway pipeline with the endpoint's routes as terminal. */
  pipeline: Handler;
  /** The redaction boundary towards agents, when one is configured. */
  outbound: AgentOutbound | undefined;
  serverInfo: Implementation;
  /** What the agent-facing server advertises now. */
  capabilities: () => ServerCapabilities;
  log: Logger;
}

/** One extension task request as the routes see it. */
interface TaskRequest {
  id: RequestId;
  method: ExtensionTaskMethod;
  /** `taskId`, `inputResponses` and any non-envelope `_meta`. */
  params: Record<string, unknown>;
  envelope: Record<string, unknown>;
  capabilities: ClientCapabilities;
}

/** The revisions whose task requests are served here (others go the SDK's way). */
const SERVED_REVISIONS: ReadonlySet<string> = new Set(['2026-07-28']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class TaskExtensionEntry {
  readonly #o: TaskExtensionEntryOptions;

  constructor(options: TaskExtensionEntryOptions) {
    this.#o = options;
  }

  /** Serves `body` when it is an extension task request; `undefined` when the SDK must serve it. */
  serve(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> | undefined {
    const identity = identityFromAuthInfo((req as IncomingMessage & { auth?: AuthInfo }).auth);
    const request = identity ? taskRequestOf(req, body) : undefined;
    return identity && request ? this.#run(request, identity, res) : undefined;
  }

  async #run(request: TaskRequest, identity: GatewayIdentity, res: ServerResponse): Promise<void> {
    const answer = new DirectAnswer(res);
    const { outbound, log } = this.#o;
    const guard = outbound
      ? new OutboundGuard(outbound, () => ({ identity: identity.name }), log)
      : undefined;
    const ctx: GatewayContext = {
      identity,
      era: 'modern',
      sessionId: undefined,
      method: request.method,
      params: { ...request.params },
      requestId: request.id,
      signal: answer.signal,
      progressToken: undefined,
      sendProgress: async () => {},
      decisions: [],
      startedAt: Date.now(),
    };
    const taint = guard?.begin(request.id, request.method, ctx.params) ?? new RequestTaint();
    const agent = this.#agentRequest(request, answer.signal);
    let message: OutboundMessage;
    try {
      const result = await withRequestTaint(taint, () =>
        agentRequestStorage.run(agent, () => this.#o.pipeline(ctx)),
      );
      message = { jsonrpc: '2.0', id: request.id, result: this.#stamped(result) };
    } catch (err) {
      const { code, message: text, data } = toProtocolError(err);
      const error = data === undefined ? { code, message: text } : { code, message: text, data };
      message = { jsonrpc: '2.0', id: request.id, error };
    }
    if (answer.signal.aborted) {
      guard?.forget(request.id);
      return;
    }
    const safe = guard ? await guard.pass(message, request.id, true) : message;
    const withheld = {
      code: ProtocolErrorCode.InternalError,
      message: 'The answer was withheld by the PII boundary',
    };
    answer.finish(safe ?? { jsonrpc: '2.0', id: request.id, error: withheld }, 200);
  }

  /** The result as the SDK's 2026-07-28 server would send it: `resultType` and the server's identity. */
  #stamped(result: unknown): Record<string, unknown> {
    const body = isRecord(result) ? result : {};
    const meta = isRecord(body._meta) ? body._meta : {};
    const serverInfo = meta[SERVER_INFO_META_KEY] ?? this.#o.serverInfo;
    return { ...body, resultType: 'complete', _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } };
  }

  /** What the routes see of this request: its envelope's capabilities; no notifications, no server requests. */
  #agentRequest(request: TaskRequest, signal: AbortSignal): AgentRequest {
    const refused = () =>
      Promise.reject(new ProtocolError(ProtocolErrorCode.InternalError, 'No server→client requests here'));
    return {
      server: {
        getClientCapabilities: () => request.capabilities,
        getCapabilities: () => this.#o.capabilities(),
        notification: async () => {},
      },
      serverCtx: { mcpReq: { signal, envelope: request.envelope, notify: async () => {}, send: refused } },
      session: undefined,
    };
  }
}

/** The extension task request in `body`, or `undefined` when the SDK must serve it (module comment). */
export function taskRequestOf(req: IncomingMessage, body: unknown): TaskRequest | undefined {
  if (req.method !== 'POST' || !isRecord(body) || !surelyModern(body) || body.jsonrpc !== '2.0')
    return undefined;
  const { id, method, params } = body;
  if (!isExtensionTaskMethod(method) || !isRecord(params) || !isRecord(params._meta)) return undefined;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) return undefined;
  const taskId = params.taskId;
  if (typeof taskId !== 'string' || taskId.startsWith('=?')) return undefined;
  const version = headerOf(req, 'mcp-protocol-version');
  const agreed =
    isJsonContentType(req.headers['content-type'] ?? null) &&
    headerOf(req, 'mcp-method') === method &&
    headerOf(req, 'mcp-name') === taskId &&
    version !== undefined &&
    SERVED_REVISIONS.has(version);
  if (!agreed) return undefined;
  const route = classifyInboundRequest({
    httpMethod: 'POST',
    body,
    protocolVersionHeader: version,
    mcpMethodHeader: method,
    mcpNameHeader: taskId,
  });
  if (route.kind !== 'modern' || route.messageKind !== 'request' || route.classification.revision !== version)
    return undefined;
  const meta = params._meta;
  const capabilities = meta[CLIENT_CAPABILITIES_META_KEY];
  if (!isRecord(capabilities)) return undefined;
  const { params: lifted, envelope } = liftEnvelope(params, meta);
  return { id, method, params: lifted, envelope, capabilities };
}
