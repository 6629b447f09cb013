/**
 * `GET /events/approvals`: server-sent events with a snapshot of the approval queue (count, card
 * fragments, recent decisions) whenever it changes, a keep-alive comment every `heartbeatMs`, and an
 * end when the session ends or the console closes.
 *
 * @example
 * app.route('/', approvalEventsRoutes(deps, cards, DEFAULT_SSE_HEARTBEAT_MS));
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ApprovalCards } from '../approval-cards.js';
import type { ConsoleDeps } from '../console-deps.js';
import type { ConsoleEnv } from '../console-env.js';

/** Changes closer together than this are sent as one snapshot. */
export const DEFAULT_SSE_COALESCE_MS = 50;

/** The live-stream sub-app. */
export function approvalEventsRoutes(
  deps: ConsoleDeps,
  cards: ApprovalCards,
  heartbeatMs: number,
): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/events/approvals', (c) => {
    const viewer = c.get('viewer');
    const sessionId = c.get('sessionId');
    return streamSSE(c, async (stream) => {
      let timer: NodeJS.Timeout | undefined;
      let sending = false;
      let again = false;
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const send = async () => {
        if (sending) {
          again = true;
          return;
        }
        sending = true;
        try {
          do {
            again = false;
            if (!deps.sessions.get(sessionId)) return finish();
            const snapshot = await cards.snapshot(viewer);
            await stream.writeSSE({ event: 'approvals', data: JSON.stringify(snapshot) });
          } while (again && !stream.aborted);
        } catch (err) {
          deps.log.debug({ err }, 'live approvals stream ended');
          finish();
        } finally {
          sending = false;
        }
      };
      const schedule = () => {
        timer ??= setTimeout(() => {
          timer = undefined;
          void send();
        }, DEFAULT_SSE_COALESCE_MS);
      };
      const unsubscribe = deps.queue.subscribe(schedule);
      const heartbeat = setInterval(() => {
        stream.write(': keep-alive\n\n').catch(() => finish());
      }, heartbeatMs);
      const onClose = () => finish();
      deps.closing.signal.addEventListener('abort', onClose, { once: true });
      stream.onAbort(() => finish());
      await send();
      await finished;
      unsubscribe();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      deps.closing.signal.removeEventListener('abort', onClose);
    });
  });
  return app;
}
