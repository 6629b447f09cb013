/**
 * The Overview page (`GET /`): tunnels, upstreams, agent sessions, live activity, pending
 * approvals and the members of a connector pair; `GET /api/status`, the same snapshot as JSON, and
 * `GET /api/members`, the members' heartbeats.
 *
 * @example
 * app.route('/', overviewRoutes(deps, activity));
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { ActivityCounters } from '../activity-counters.js';
import type { ConsoleDeps } from '../console-deps.js';
import type { ConsoleEnv } from '../console-env.js';
import { renderOverviewBody } from '../overview-page.js';
import { renderPairMembers } from '../pair-members-section.js';

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
    const members = await deps.store.members.listMembers().catch(() => []);
    const page = html`${body}${renderPairMembers(members, deps.now())}`;
    return deps.page(c, 'Overview', 'overview', page, { tenantHost: status.tenantHost });
  });
  app.get('/api/status', async (c) => c.json(await options.status()));
  /** Every member of the connector pair, as their heartbeats report them. */
  app.get('/api/members', async (c) => c.json({ members: await deps.store.members.listMembers() }));
  return app;
}
