/**
 * Graceful drain of a relay node (`SIGTERM` on `airlock relay`, `airlock relay drain`, `relay.drain()`):
 *
 * 1. `/readyz` answers 503 at once (the load balancer stops sending new connections here);
 * 2. in a cluster, presence marks the node draining (other nodes stop splicing agents here) and every
 *    tunnel is sent a cluster view with `draining: true`: its connector opens a tunnel on another node
 *    first, then lets this one go with GOAWAY so that in-flight agent streams finish; new tunnels are
 *    refused with `AIRLOCK_TUNNEL_RELAY_DRAINING`;
 * 3. new agent connections that still land here go to other nodes first, and are served on the local
 *    tunnels while they last;
 * 4. once no tunnel and no connection is left (cluster), or no agent stream is open (single node),
 *    or `drainGraceMs` has passed, the node closes.
 *
 * @example
 * await drainRelay(ctx, { graceMs: 30_000, pushViews: () => views.pushNow(), close: () => relay.close() });
 */
import type { RelayContext } from './relay-context.js';

/** Longest a drain waits for tunnels to move and agent streams to finish before the node closes. */
export const DEFAULT_DRAIN_GRACE_MS = 30_000;
/** How often the drain checks whether the node is empty. */
const DRAIN_POLL_MS = 50;

export interface DrainOptions {
  /** Default {@link DEFAULT_DRAIN_GRACE_MS}. */
  graceMs?: number;
  /** Closes idle keep-alive HTTPS connections to the relay host (e.g. a connector's witness client). */
  closeIdle?: () => void;
  /** Sends the (draining) cluster view to every tunnel now. */
  pushViews?: () => Promise<void>;
  close: () => Promise<void>;
}

/** True when nothing is left that a drain waits for. */
function drained(ctx: RelayContext): boolean {
  if (ctx.cluster) return ctx.liveTunnels.size === 0 && ctx.sockets.size === 0;
  for (const tunnel of ctx.liveTunnels) if (tunnel.activeStreams > 0) return false;
  return true;
}

/** Drains the node, then closes it (idempotent: a second call waits for the same drain). */
export function drainRelay(ctx: RelayContext, options: DrainOptions): Promise<void> {
  const running = draining.get(ctx);
  if (running) return running;
  const done = runDrain(ctx, options);
  draining.set(ctx, done);
  return done;
}

const draining = new WeakMap<RelayContext, Promise<void>>();

async function runDrain(ctx: RelayContext, options: DrainOptions): Promise<void> {
  if (ctx.closing) return;
  ctx.draining = true;
  const graceMs = options.graceMs ?? DEFAULT_DRAIN_GRACE_MS;
  const deadline = Date.now() + graceMs;
  ctx.logger.info({ graceMs, tunnels: ctx.liveTunnels.size }, 'relay draining');
  if (ctx.cluster) {
    await ctx.cluster
      .setDraining(true)
      .catch((err: unknown) => ctx.logger.warn({ err: (err as Error).message }, 'draining not published'));
    await options.pushViews?.();
  }
  while (!drained(ctx) && Date.now() < deadline && !ctx.closing) {
    options.closeIdle?.();
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  const left = { tunnelsLeft: ctx.liveTunnels.size, connectionsLeft: ctx.sockets.size };
  if (drained(ctx)) ctx.logger.info(left, 'relay drained; closing');
  else ctx.logger.warn(left, 'drain grace period over; closing what is left');
  await options.close();
}
