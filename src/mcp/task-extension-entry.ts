/**
 * The 2026-07-28 tasks extension's own methods (`tasks/get`, `tasks/update`, `tasks/cancel`; SEP-2663)
 * at the agent endpoint's Node entry. The SDK's 2026-07-28 server has no runtime for them (it answers
 * "method not found"), so they are served here, the way the direct path serves plain calls
 * (direct-calls.ts): the gateway pipeline runs on the parsed body with the endpoint's routes as terminal
 * (authenticate, budget, pii, ... then task-routes.ts: owner only, routed to the upstream that holds the
 * task), and the answer — `resultType: "complete"`, the server's identity in `_meta` — passes the
 * outbound boundary scoped to the identity, written as JSON (direct-exchange.ts, shared with the direct
 * path: the endpoint's close aborts these requests too).
 *
 * Taken only when the request is one the SDK would accept: a 2026-07-28 request by the SDK's own
 * classifier whose standard headers agree with the body (`Mcp-Method`, `MCP-Protocol-Version`, and
 * `Mcp-Name` = `params.taskId`, as the binding asks) and whose envelope declares client capabilities.
 * Anything else goes the SDK's way, so a mismatched `Mcp-Name` gets the SDK's own 400 (its header-mismatch error).
 *
 * @example
 * const tasks = new TaskExtensionEntry({ exchanges, serverInfo, capabilities: () => caps });
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
import type { GatewayIdentity } from '../gateway/gateway-context.js';
import type { OutboundMessage } from '../pii/pii-boundary.js';
import { identityFromAuthInfo } from './agent-auth-info.js';
import type { AgentRequest } from './agent-method-table.js';
import { headerOf, liftEnvelope } from './direct-call-request.js';
import type { DirectExchanges } from './direct-exchange.js';
import { surelyModern } from './era-precheck.js';
import { toProtocolError } from './protocol-error-mapping.js';
import { type ExtensionTaskMethod, isExtensionTaskMethod } from './task-extension.js';

export interface TaskExtensionEntryOptions {
  /** Runs the pipeline and answers through the boundary (shared with the direct path). */
  exchanges: DirectExchanges;
  serverInfo: Implementation;
  /** What the agent-facing server advertises now. */
  capabilities: () => ServerCapabilities;
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

  #run(request: TaskRequest, identity: GatewayIdentity, res: ServerResponse): Promise<void> {
    const { id, method, params } = request;
    return this.#o.exchanges.run(
      res,
      { id, method, params, identity },
      {
        streamOnProgress: false,
        agentRequest: (out) => this.#agentRequest(request, out.answer.signal),
        answerOf: (run) => this.#answerOf(request, run),
        withheld: {
          jsonrpc: '2.0',
          id,
          error: {
            code: ProtocolErrorCode.InternalError,
            message: 'The answer was withheld by the PII boundary',
          },
        },
      },
    );
  }

  /** The JSON-RPC answer of the pipeline's outcome: the stamped result, or the error as the SDK encodes it. */
  async #answerOf(
    request: TaskRequest,
    run: () => Promise<unknown>,
  ): Promise<{ message: OutboundMessage; status: number }> {
    try {
      const result = await run();
      return { message: { jsonrpc: '2.0', id: request.id, result: this.#stamped(result) }, status: 200 };
    } catch (err) {
      const { code, message: text, data } = toProtocolError(err);
      const error = data === undefined ? { code, message: text } : { code, message: text, data };
      return { message: { jsonrpc: '2.0', id: request.id, error }, status: 200 };
    }
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
