/**
 * Watches the gateway's decision channel (`airlock:gateway:decision`) so a test can wait for a request
 * to have passed a stage, e.g. for a call to hold its concurrency slot, instead of sleeping.
 *
 * @example
 * const decisions = watchDecisions();
 * const call = client.callTool({ name: 'gw.slow', arguments: { ms: 3000 } });
 * await decisions.seen('the call authorized', (m) => m.decision.stage === 'authorize');
 * decisions.close();
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { DECISION_CHANNEL, type DecisionMessage } from '../../src/gateway/decision-channel.js';
import { until } from '../fixtures/wait-until.js';

export interface DecisionWatch {
  /** Every decision published since the watch began. */
  messages: DecisionMessage[];
  /** Resolves with the first message (seen so far or later) that `match` accepts. */
  seen(what: string, match: (message: DecisionMessage) => boolean): Promise<DecisionMessage>;
  close(): void;
}

/** Subscribes to the decision channel until `close()`. */
export function watchDecisions(): DecisionWatch {
  const messages: DecisionMessage[] = [];
  const listener = (message: unknown) => void messages.push(message as DecisionMessage);
  diagnosticsChannel.subscribe(DECISION_CHANNEL, listener);
  return {
    messages,
    seen: (what, match) => until(what, () => messages.find(match)),
    close: () => diagnosticsChannel.unsubscribe(DECISION_CHANNEL, listener),
  };
}
