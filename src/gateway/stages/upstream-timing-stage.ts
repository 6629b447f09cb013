/**
 * The innermost stage: writes the request's write-ahead intent entry (see `writeIntent` in
 * audit-stage.ts; the call goes no further when it cannot be made durable), then measures the time
 * spent in the upstream MCP server. Put it LAST in the stage list, right before
 * the terminal handler: it records `{ stage: 'upstream', outcome: 'info', detail: { latencyMs } }`,
 * which the audit stage copies into the entry's `upstreamLatencyMs`. Requests refused earlier never
 * reach it, so their entries have no upstream latency.
 *
 * @example
 * const stages = [auditStage({ ledger }), authenticate({ identities }), ..., upstreamTiming()];
 */
import { recordDecision } from '../decision-channel.js';
import type { Stage } from '../gateway-context.js';
import { writeIntent } from './audit-stage.js';

/** Stage name of the decision this stage records. */
export const UPSTREAM_TIMING_STAGE = 'upstream';

/** See the module comment. `now` is a monotonic clock in ms (default `performance.now`). */
export function upstreamTiming(opts: { now?: () => number } = {}): Stage {
  const now = opts.now ?? (() => performance.now());
  return (next) => async (ctx) => {
    await writeIntent(ctx);
    const started = now();
    try {
      return await next(ctx);
    } finally {
      const latencyMs = Math.round((now() - started) * 1000) / 1000;
      recordDecision(ctx, { stage: UPSTREAM_TIMING_STAGE, outcome: 'info', detail: { latencyMs } });
    }
  };
}
