/**
 * How an agent request's upstream call talks back to the agent while it runs: progress, log messages
 * (filtered by the agent's level) and server→client requests (relayed-call.ts), in order, flushed before
 * the answer. Everything sent here goes through the agent-facing SDK server, whose transport passes the
 * redaction boundary (agent-outbound-guard.ts); the request's taint follows a relayed call across rounds.
 *
 * @example
 * return relayCall(relayed, ctx, agentRequestStorage.getStore(), ctx.params.name, (opts) => catalog.callTool(ctx.params, opts));
 */
import {
  LOG_LEVEL_META_KEY,
  type LoggingLevel,
  type LoggingMessageNotificationParams,
} from '@modelcontextprotocol/server';
import type { GatewayContext, ProgressUpdate } from '../gateway/gateway-context.js';
import { currentRequestTaint } from '../pii/request-taint.js';
import type { AgentRequest } from './agent-method-table.js';
import { isLoggingLevel, passesLogThreshold } from './log-levels.js';
import { type AgentTurn, isRelayState, type RelayedCalls, type StartRelayedCall } from './relayed-call.js';
import { relayableCapabilities } from './upstream-interaction.js';

/** Forwards a call that the upstream may interrupt to ask the agent for input (see relayed-call.ts). */
export async function relayCall(
  relayed: RelayedCalls,
  ctx: GatewayContext,
  agent: AgentRequest | undefined,
  target: unknown,
  start: StartRelayedCall,
): Promise<unknown> {
  const { threshold, whenUnset, upstreamLevel } = logLevels(agent);
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (send: () => Promise<void>) => {
    queue = queue.then(send).catch(() => {});
  };
  const taint = currentRequestTaint();
  const turn: AgentTurn = {
    owner: ctx.identity?.name ?? '',
    signal: ctx.signal,
    ...(agent?.session ? { heldSignal: agent.serverCtx.mcpReq.signal } : {}),
    capabilities: agent ? relayableCapabilities(agent.server.getClientCapabilities()) : undefined,
    logLevel: upstreamLevel,
    ...(taint ? { taint } : {}),
    onprogress: (p) => enqueue(() => ctx.sendProgress(progressUpdate(p))),
    onLog: (params: LoggingMessageNotificationParams) => {
      if (!agent || ctx.signal.aborted || !passesLogThreshold(params.level, threshold, whenUnset)) return;
      enqueue(() => agent.serverCtx.mcpReq.notify({ method: 'notifications/message', params }));
    },
  };
  const binding = { method: ctx.method, target: String(target ?? '') };
  try {
    const state = ctx.params.requestState;
    if (isRelayState(state)) {
      const responses = ctx.params.inputResponses;
      return await relayed.resume(
        state,
        binding,
        turn,
        responses !== null && typeof responses === 'object'
          ? (responses as Record<string, unknown>)
          : undefined,
      );
    }
    return await relayed.run(binding, turn, start);
  } finally {
    await queue;
  }
}

/** Calls the upstream with the agent's abort signal, relaying progress in order; flushed before the result. */
export async function withProgress(
  ctx: GatewayContext,
  call: (opts: {
    signal: AbortSignal;
    onprogress: (p: ProgressUpdate) => void;
  }) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  let queue: Promise<void> = Promise.resolve();
  const onprogress = (p: ProgressUpdate) => {
    queue = queue.then(() => ctx.sendProgress(progressUpdate(p))).catch(() => {});
  };
  try {
    return await call({ signal: ctx.signal, onprogress });
  } finally {
    await queue;
  }
}

function progressUpdate(p: ProgressUpdate): ProgressUpdate {
  const update: ProgressUpdate = { progress: p.progress };
  if (p.total !== undefined) update.total = p.total;
  if (p.message !== undefined) update.message = p.message;
  return update;
}

/**
 * The agent's log threshold and the level asked of 2026-07-28 upstreams for it: a 2025-11-25 session's
 * `logging/setLevel` (unset: every message, so `debug` upstream), a 2026-07-28 request's envelope
 * level (unset: no messages).
 */
function logLevels(agent: AgentRequest | undefined): {
  threshold: LoggingLevel | undefined;
  whenUnset: boolean;
  upstreamLevel: LoggingLevel | undefined;
} {
  if (agent?.session) {
    const level = agent.session.logLevel;
    return { threshold: level, whenUnset: true, upstreamLevel: level ?? 'debug' };
  }
  const envelope = agent?.serverCtx.mcpReq.envelope as Record<string, unknown> | undefined;
  const envelopeLevel = envelope?.[LOG_LEVEL_META_KEY];
  const level = isLoggingLevel(envelopeLevel) ? envelopeLevel : undefined;
  return { threshold: level, whenUnset: false, upstreamLevel: level };
}
