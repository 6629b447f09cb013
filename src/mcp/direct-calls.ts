/**
 * The direct path of the agent endpoint: a plain 2026-07-28 `tools/call` (direct-call-request.ts) is
 * decided and routed at the JSON-RPC level — the gateway pipeline runs on the parsed body and the answer
 * is written to the Node response — without the SDK's per-request `Server`, web `Request`/`Response`
 * and stream conversions. What the SDK would add is added the same way: the envelope lifted out of the
 * params, the result checked and stamped (direct-call-result.ts), errors as the SDK encodes them, the
 * answer as JSON or as an SSE stream when a held call needs keep-alives (direct-call-answer.ts).
 *
 * The redaction boundary is the same: with `outbound`, the answer and any notification pass an
 * {@link OutboundGuard} scoped to the identity, and the request runs with its own taint.
 *
 * Anything else (other methods, retries, progress tokens, log levels, tasks, a closed endpoint, a
 * request without identity) is not taken here: `serve` returns `undefined` and the SDK serves it.
 *
 * @example
 * const direct = new DirectCalls({ pipeline, outbound, serverInfo, capabilities: () => caps, log });
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
import type { GatewayContext, GatewayIdentity, Handler } from '../gateway/gateway-context.js';
import type { OutboundMessage } from '../pii/pii-boundary.js';
import { RequestTaint, withRequestTaint } from '../pii/request-taint.js';
import { identityFromAuthInfo } from './agent-auth-info.js';
import { type AgentRequest, agentRequestStorage } from './agent-method-table.js';
import { type AgentOutbound, OutboundGuard } from './agent-outbound-guard.js';
import { DirectAnswer } from './direct-call-answer.js';
import { type DirectCallRequest, directCallOf } from './direct-call-request.js';
import { directCallResult } from './direct-call-result.js';
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
  /** The gateway pipeline with the endpoint's routes as terminal. */
  pipeline: Handler;
  /** The redaction boundary towards agents, when one is configured. */
  outbound: AgentOutbound | undefined;
  serverInfo: Implementation;
  /** What the agent-facing server advertises now (no `tools`: the SDK answers "method not found"). */
  capabilities: () => ServerCapabilities;
  log: Logger;
  /** SSE keep-alive interval of a held call's answer. Default `DEFAULT_DIRECT_KEEP_ALIVE_MS` (15 s). */
  keepAliveMs?: number;
}

/** One call's way back to the agent: notifications in order, then the answer, each through the guard. */
interface CallOutput {
  answer: DirectAnswer;
  guard: OutboundGuard | undefined;
  queue: Promise<void>;
}

export class DirectCalls {
  readonly #o: DirectCallsOptions;
  /** The answers of the calls in flight (abandoned when the endpoint closes). */
  readonly #inFlight = new Set<DirectAnswer>();

  constructor(options: DirectCallsOptions) {
    this.#o = options;
  }

  /** Stops every call in flight: its stages and upstream request are aborted, its connection closed. */
  close(): void {
    const closing = new Error('The MCP endpoint is closing');
    for (const answer of this.#inFlight) answer.abandon(closing);
    this.#inFlight.clear();
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

  async #run(call: DirectCallRequest, identity: GatewayIdentity, res: ServerResponse): Promise<void> {
    const { outbound, log } = this.#o;
    const answer = new DirectAnswer(res, {
      ...(this.#o.keepAliveMs ? { keepAliveMs: this.#o.keepAliveMs } : {}),
    });
    this.#inFlight.add(answer);
    res.once('close', () => this.#inFlight.delete(answer));
    const out: CallOutput = {
      answer,
      guard: outbound ? new OutboundGuard(outbound, () => ({ identity: identity.name }), log) : undefined,
      queue: Promise.resolve(),
    };
    const ctx: GatewayContext = {
      identity,
      era: 'modern',
      sessionId: undefined,
      method: 'tools/call',
      params: { ...call.params },
      requestId: call.id,
      signal: answer.signal,
      progressToken: undefined,
      // No progress token: a stage's progress (a held call) keeps the connection alive instead.
      sendProgress: async () => {
        if (!answer.signal.aborted) answer.streamNow();
      },
      decisions: [],
      startedAt: Date.now(),
    };
    const taint = out.guard?.begin(call.id, 'tools/call', ctx.params) ?? new RequestTaint();
    const agent = this.#agentRequest(call, out);
    const { message, status } = await this.#answerOf(call, () =>
      withRequestTaint(taint, () => agentRequestStorage.run(agent, () => this.#o.pipeline(ctx))),
    );
    await out.queue;
    if (answer.signal.aborted) {
      out.guard?.forget(call.id);
      return;
    }
    const safe = out.guard ? await out.guard.pass(message, call.id, true) : message;
    answer.finish(safe ?? withheld(call), safe === message ? status : 200);
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
  #agentRequest(call: DirectCallRequest, out: CallOutput): AgentRequest {
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
