/**
 * HTTP/2 PING heartbeats. Both ends of a tunnel ping: a half-open TCP connection (a NAT that
 * forgot the flow, a peer that vanished without FIN) is found within `intervalMs + timeoutMs`
 * instead of after the kernel's keepalive (hours).
 */
import type { Http2Session } from 'node:http2';

/** Send a PING every 2 s when none is outstanding. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;
/** A PING not acknowledged within 4 s means the tunnel is dead. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 4000;

export interface HeartbeatOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** Called once when a PING was not acknowledged in time (or could not be sent). */
  onDead: (reason: string) => void;
}

/**
 * Starts pinging `session`; returns a function that stops the heartbeat. Timers are unref'd.
 *
 * @example
 * const stop = startHeartbeat(session, { intervalMs: 2000, timeoutMs: 4000, onDead: () => session.destroy() });
 * session.on('close', stop);
 */
export function startHeartbeat(session: Http2Session, options: HeartbeatOptions): () => void {
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
  let pending: NodeJS.Timeout | undefined;
  let stopped = false;

  const dead = (reason: string): void => {
    if (stopped) return;
    stop();
    options.onDead(reason);
  };

  const ping = (): void => {
    if (stopped || pending !== undefined || session.destroyed || session.closed) return;
    let sent = false;
    try {
      sent = session.ping((err) => {
        if (pending !== undefined) clearTimeout(pending);
        pending = undefined;
        if (err && !session.destroyed && !session.closed) dead(`ping failed: ${err.message}`);
      });
    } catch (err) {
      dead(`ping failed: ${(err as Error).message}`);
      return;
    }
    if (!sent) return;
    pending = setTimeout(() => {
      pending = undefined;
      dead(`no PING acknowledgement within ${timeoutMs} ms`);
    }, timeoutMs);
    pending.unref();
  };

  const timer = setInterval(ping, intervalMs);
  timer.unref();

  function stop(): void {
    stopped = true;
    clearInterval(timer);
    if (pending !== undefined) clearTimeout(pending);
    pending = undefined;
  }
  return stop;
}
