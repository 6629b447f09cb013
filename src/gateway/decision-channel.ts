/**
 * Gateway decisions are appended to `ctx.decisions` (for the audit stage) and published on the
 * `airlock:gateway:decision` diagnostics channel (for metrics, logs and tests), in the style of undici's
 * diagnostics channels. Publishing costs nothing when nobody subscribes.
 *
 * @example
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe(DECISION_CHANNEL, (msg) => console.log((msg as DecisionMessage).decision));
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { GatewayContext, GatewayDecision, GatewayEra, GatewayIdentity } from './gateway-context.js';

export const DECISION_CHANNEL = 'airlock:gateway:decision';

/** What is published on {@link DECISION_CHANNEL}. Carries no arguments or results. */
export interface DecisionMessage {
  identity: GatewayIdentity | undefined;
  era: GatewayEra;
  sessionId: string | undefined;
  method: string;
  requestId: string | number;
  decision: GatewayDecision;
}

const channel = diagnosticsChannel.channel(DECISION_CHANNEL);

/**
 * Appends a decision to the context and publishes it.
 *
 * @example
 * recordDecision(ctx, { stage: 'authenticate', outcome: 'allow' });
 */
export function recordDecision(
  ctx: GatewayContext,
  decision: Omit<GatewayDecision, 'at'> & { at?: number },
): GatewayDecision {
  const full: GatewayDecision = { ...decision, at: decision.at ?? Date.now() };
  ctx.decisions.push(full);
  if (channel.hasSubscribers) {
    const message: DecisionMessage = {
      identity: ctx.identity,
      era: ctx.era,
      sessionId: ctx.sessionId,
      method: ctx.method,
      requestId: ctx.requestId,
      decision: full,
    };
    channel.publish(message);
  }
  return full;
}
