/**
 * The direct path of the agent endpoint: a plain 2026-07-28 `tools/call` (direct-call-request.ts) is
 * decided and routed at the JSON-RPC level — the gateway pipeline runs on the parsed body and the answer
 * is written to the Node response — without the SDK's per-request `Server`, web `Request`/`Response`
 * and stream conversions. What the SDK would add is added the same way: the envelope lifted out of the
 * params, the result checked and stamped (direct-call-result.ts), errors as the SDK encodes them, the
 * answer as JSON or as an SSE stream when a held call needs keep-alives (direct-call-answer.ts).
 *
 * The redaction boundary is the same: the answer and any notification pass the outbound guard scoped to
 * the identity, and the request runs with its own taint (direct-exchange.ts).
 *
 * Anything else (other methods, retries, progress tokens, log levels, tasks, a closed endpoint, a
 * request without identity) is not taken here: `serve` returns `undefined` and the SDK serves it.
 *
 * @example
 * const direct = new DirectCalls({ exchanges, serverInfo, capabilities: () => caps, log });
 * const served = direct.serve(req, res, parsedBody) ?? sdkHandler(req, res, parsedBody);
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  AuthInfo,
  Implementation,
  JSONRPCMessage,
  ServerCapabilities,
  ServerNotification,
} from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { GatewayIdentity } from '../gateway/gateway-context.js';
import type { OutboundMessage } from '../pii/pii-boundary.js';
import { identityFromAuthInfo } from './agent-auth-info.js';
import type { AgentRequest } from './agent-method-table.js';
import { type DirectCallRequest, directCallOf } from './direct-call-request.js';
import { directCallResult } from './direct-call-result.js';
import type { DirectExchanges, ExchangeOutput } from './direct-exchange.js';
import { failureAnswer } from './protocol-error-mapping.js';

/** Named channel: one message `{ identity, tool, requestId }` per call the direct path takes. */
export const DIRECT_CALL_CHANNEL = 'airlock:mcp:direct-call';
const directCallChannel = diagnosticsChannel.channel(DIRECT_CALL_CHANNEL);

/** What {@link DIRECT_CALL_CHANNEL} publishes. */
export interface DirectCallMessage {
  identity: string;
  tool: string;
  requestId: string | number;
}

export interface DirectCallsOptions {
  /** Runs the pipeline and answers through the boundary (shared with the tasks-extension entry). */
  exchanges: DirectExchanges;
  serverInfo: Implementation;
  /** What the agent-facing server advertises now (no `tools`: the SDK answers "method not found"). */
  capabilities: () => ServerCapabilities;
  log: Logger;
  /** SSE keep-alive interval of a held call's answer. Default `DEFAULT_DIRECT_KEEP_ALIVE_MS` (15 s). */
  keepAliveMs?: number;
}

export class DirectCalls {
  readonly #o: DirectCallsOptions;

  constructor(options: DirectCallsOptions) {
    this.#o = options;
  }

  /** Serves `body` when it is a direct-path call; `undefined` when the SDK must serve it. */
  serve(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> | undefined {
    const identity = identityFromAuthInfo((req as IncomingMessage & { auth?: AuthInfo }).auth);
    if (!identity || !this.#o.capabilities().tools) return undefined;
    const call = directCallOf(req, body);
    if (!call) return undefined;
    if (directCallChannel.hasSubscribers) {
      const message: DirectCallMessage = {
        identity: identity.name,
        tool: String(call.params.name),
        requestId: call.id,
      };
      directCallChannel.publish(message);
    }
    return this.#run(call, identity, res);
  }

  #run(call: DirectCallRequest, identity: GatewayIdentity, res: ServerResponse): Promise<void> {
    const request = { id: call.id, method: 'tools/call' as const, params: call.params, identity };
    return this.#o.exchanges.run(res, request, {
      ...(this.#o.keepAliveMs ? { keepAliveMs: this.#o.keepAliveMs } : {}),
      streamOnProgress: true,
      agentRequest: (out) => this.#agentRequest(call, out),
      answerOf: (run) => this.#answerOf(call, run),
      withheld: withheld(call),
    });
  }

  /** The JSON-RPC answer of the pipeline's outcome, as the SDK's server would encode it. */
  async #answerOf(
    call: DirectCallRequest,
    run: () => Promise<unknown>,
  ): Promise<{ message: OutboundMessage; status: number }> {
    try {
      let result: unknown;
      try {
        result = await run();
      } catch (err) {
        result = failureAnswer(err, 'tools/call', call.protocolVersion, this.#o.log);
      }
      const wire = directCallResult(result, call.clientCapabilities, this.#o.serverInfo);
      return { message: { result: wire, jsonrpc: '2.0', id: call.id }, status: 200 };
    } catch (err) {
      return errorAnswer(call, err);
    }
  }

  /** What the routes see of this request: the envelope's capabilities, notifications on this answer. */
  #agentRequest(call: DirectCallRequest, out: ExchangeOutput): AgentRequest {
    const notify = (notification: { method: string; params?: unknown }): Promise<void> => {
      out.queue = out.queue.then(async () => {
        const message = notification as unknown as OutboundMessage;
        const safe = out.guard ? await out.guard.pass(message, call.id, false) : message;
        if (safe) out.answer.send(safe);
      });
      return out.queue;
    };
    const refuseSend = () =>
      Promise.reject(
        new ProtocolError(ProtocolErrorCode.InternalError, 'No server→client requests on a 2026-07-28 call'),
      );
    return {
      server: {
        getClientCapabilities: () => call.clientCapabilities,
        getCapabilities: () => this.#o.capabilities(),
        notification: (n: ServerNotification) => notify(n),
      },
      serverCtx: {
        mcpReq: { signal: out.answer.signal, envelope: call.envelope, notify, send: refuseSend },
      },
      session: undefined,
    };
  }
}

/** A thrown error as the SDK answers it: its code (resource-not-found as invalid params on this era), message and data. */
function errorAnswer(call: DirectCallRequest, err: unknown): { message: OutboundMessage; status: number } {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
  const thrown = Number.isSafeInteger(e.code) ? (e.code as number) : ProtocolErrorCode.InternalError;
  // This era has no "resource not found" code of its own: the SDK answers it as invalid params.
  const code = thrown === ProtocolErrorCode.ResourceNotFound ? ProtocolErrorCode.InvalidParams : thrown;
  const error: { code: number; message: string; data?: unknown } = {
    code,
    message: typeof e.message === 'string' ? e.message : 'Internal error',
  };
  if (e.data !== undefined) error.data = e.data;
  const status = code === ProtocolErrorCode.MissingRequiredClientCapability ? 400 : 200;
  return { message: { jsonrpc: '2.0', id: call.id, error } satisfies JSONRPCMessage, status };
}

/** The answer when the boundary withheld the response itself. */
function withheld(call: DirectCallRequest): OutboundMessage {
  return {
    jsonrpc: '2.0',
    id: call.id,
    error: { code: -32603, message: 'The answer was withheld: the PII boundary could not redact it.' },
  };
}
