/**
 * One agent request served at the endpoint's Node entry instead of by the SDK's per-request server: a
 * plain 2026-07-28 call (direct-calls.ts) or a tasks-extension request (task-extension-entry.ts). Both
 * run the same way: a gateway context for the pipeline, the request's own PII taint and an outbound
 * guard scoped to the identity, the routes' view of the request (`agentRequestStorage`), and the answer
 * through the guard onto a {@link DirectAnswer}. The two differ only in their {@link ExchangeShape}.
 *
 * `DirectExchanges` keeps the answers in flight, so the endpoint's close aborts every such request
 * (its stages and upstream request) and closes its connection.
 *
 * @example
 * const exchanges = new DirectExchanges({ pipeline, outbound, log });
 * await exchanges.run(res, { id, method: 'tools/call', params, identity }, shape);
 * exchanges.close(); // the endpoint closes
 */
import type { ServerResponse } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { GatewayContext, GatewayIdentity, Handler } from '../gateway/gateway-context.js';
import type { OutboundMessage } from '../pii/pii-boundary.js';
import { RequestTaint, withRequestTaint } from '../pii/request-taint.js';
import { type AgentRequest, agentRequestStorage } from './agent-method-table.js';
import { type AgentOutbound, OutboundGuard } from './agent-outbound-guard.js';
import { DirectAnswer } from './direct-call-answer.js';

export interface DirectExchangesOptions {
  /** The gateway pipeline with the endpoint's routes as terminal. */
  pipeline: Handler;
  /** The redaction boundary towards agents, when one is configured. */
  outbound: AgentOutbound | undefined;
  log: Logger;
}

/** The request as the pipeline sees it. */
export interface ExchangeRequest {
  id: RequestId;
  method: GatewayContext['method'];
  /** The params without the envelope's keys. */
  params: Record<string, unknown>;
  identity: GatewayIdentity;
}

/** One request's way back to the agent: notifications in order, then the answer, each through the guard. */
export interface ExchangeOutput {
  answer: DirectAnswer;
  guard: OutboundGuard | undefined;
  queue: Promise<void>;
}

/** What differs between the kinds of request served here. */
export interface ExchangeShape {
  /** SSE keep-alive interval once the answer streams. Default the answer's own. */
  keepAliveMs?: number;
  /** A stage's progress (a held call) starts the SSE answer so keep-alives hold the connection. */
  streamOnProgress: boolean;
  /** What the routes see of this request. */
  agentRequest(out: ExchangeOutput): AgentRequest;
  /** The JSON-RPC answer of the pipeline's outcome (`run` resolves or throws). */
  answerOf(run: () => Promise<unknown>): Promise<{ message: OutboundMessage; status: number }>;
  /** The answer when the boundary withheld the response itself. */
  withheld: OutboundMessage;
}

export class DirectExchanges {
  readonly #o: DirectExchangesOptions;
  /** The answers of the requests in flight (abandoned when the endpoint closes). */
  readonly #inFlight = new Set<DirectAnswer>();

  constructor(options: DirectExchangesOptions) {
    this.#o = options;
  }

  /** Stops every request in flight: its stages and upstream request are aborted, its connection closed. */
  close(): void {
    const closing = new Error('The MCP endpoint is closing');
    for (const answer of this.#inFlight) answer.abandon(closing);
    this.#inFlight.clear();
  }

  /** Runs the pipeline for `request` and writes its answer to `res`. */
  async run(res: ServerResponse, request: ExchangeRequest, shape: ExchangeShape): Promise<void> {
    const { outbound, log } = this.#o;
    const answer = new DirectAnswer(res, shape.keepAliveMs ? { keepAliveMs: shape.keepAliveMs } : {});
    this.#inFlight.add(answer);
    res.once('close', () => this.#inFlight.delete(answer));
    const identity = request.identity;
    const out: ExchangeOutput = {
      answer,
      guard: outbound ? new OutboundGuard(outbound, () => ({ identity: identity.name }), log) : undefined,
      queue: Promise.resolve(),
    };
    const ctx = contextOf(request, answer, shape.streamOnProgress);
    const taint = out.guard?.begin(request.id, request.method, ctx.params) ?? new RequestTaint();
    const agent = shape.agentRequest(out);
    const { message, status } = await shape.answerOf(() =>
      withRequestTaint(taint, () => agentRequestStorage.run(agent, () => this.#o.pipeline(ctx))),
    );
    await out.queue;
    if (answer.signal.aborted) {
      out.guard?.forget(request.id);
      return;
    }
    const safe = out.guard ? await out.guard.pass(message, request.id, true) : message;
    answer.finish(safe ?? shape.withheld, safe === message ? status : 200);
  }
}

/** The gateway context of one request answered on `answer`. */
function contextOf(
  request: ExchangeRequest,
  answer: DirectAnswer,
  streamOnProgress: boolean,
): GatewayContext {
  return {
    identity: request.identity,
    era: 'modern',
    sessionId: undefined,
    method: request.method,
    params: { ...request.params },
    requestId: request.id,
    signal: answer.signal,
    progressToken: undefined,
    // No progress token: a stage's progress (a held call) keeps the connection alive instead.
    sendProgress: async () => {
      if (streamOnProgress && !answer.signal.aborted) answer.streamNow();
    },
    decisions: [],
    startedAt: Date.now(),
  };
}
