/**
 * The Overview page (`GET /`): tunnels, upstreams, agent sessions, live activity and pending
 * approvals; and `GET /api/status`, the same snapshot as JSON.
 *
 * @example
 * app.route('/', overviewRoutes(deps, activity));
 */
import { Hono } from 'hono';
import type { ActivityCounters } from '../activity-counters.js';
import type { ConsoleDeps } from '../console-deps.js';
import type { ConsoleEnv } from '../console-env.js';
import { renderOverviewBody } from '../overview-page.js';

/** The overview sub-app. */
export function overviewRoutes(deps: ConsoleDeps, activity: ActivityCounters | undefined): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  const { options } = deps;
  app.get('/', async (c) => {
    const status = await options.status();
    const body = renderOverviewBody({
      status,
      sessions: options.sessions?.(),
      activity: activity?.snapshot(),
      pendingApprovals: await deps.pendingCount(),
      now: deps.now(),
    });
    return deps.page(c, 'Overview', 'overview', body, { tenantHost: status.tenantHost });
  });
  app.get('/api/status', async (c) => c.json(await options.status()));
  return app;
}
