/**
 * The Approvals pages: `GET /approvals` (the live queue and recent decisions), `GET /api/approvals`
 * (pending requests without their arguments), `GET /approvals/:id` (one request; `?reveal=1` shows
 * values unmasked to accounts that may reveal personal data, and every such view is appended to the
 * audit trail as `pii.reveal`). Decisions are routes/approval-decision-routes.ts; the live stream is
 * routes/approval-events.ts.
 *
 * @example
 * app.route('/', approvalsRoutes(deps, cards));
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import { statusPill } from '../approval-card.js';
import type { ApprovalCards } from '../approval-cards.js';
import type { ConsoleDeps } from '../console-deps.js';
import type { ConsoleEnv } from '../console-env.js';
import { type Notice, time } from '../console-layout.js';
import { withoutArguments } from '../console-responses.js';

/** Approval ids as the queue makes them. */
export function isApprovalId(id: string): boolean {
  return /^apr_[0-9a-f]{24}$/.test(id);
}

/** The approvals sub-app. */
export function approvalsRoutes(deps: ConsoleDeps, cards: ApprovalCards): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  const { queue } = deps;

  app.get('/approvals', async (c) => {
    const done = c.req.query('done');
    const id = c.req.query('id') ?? '';
    let notice: Notice | undefined;
    if (done === 'approved' && isApprovalId(id))
      notice = {
        kind: 'ok',
        text: `Approved ${id}. The agent's call runs now, or on its retry if it was no longer waiting.`,
      };
    else if (done === 'denied' && isApprovalId(id))
      notice = { kind: 'ok', text: `Denied ${id}. The agent is told your reason.` };
    return cards.page(c, notice, 200);
  });

  app.get('/api/approvals', async (c) => c.json({ pending: (await queue.pending()).map(withoutArguments) }));

  app.get('/approvals/:id', async (c) => {
    const viewer = c.get('viewer');
    const id = c.req.param('id');
    const reveal = c.req.query('reveal') === '1';
    if (reveal && !viewer.revealPii) {
      const body = html`<h1>Approval</h1><p class="notice error" role="alert">Your account may not reveal personal data. Ask an admin to grant it (<code>airlock console add-admin --reveal-pii</code>).</p>`;
      return deps.page(c, 'Approval', 'approvals', body, { status: 403 });
    }
    const record = isApprovalId(id) ? await queue.get(id) : undefined;
    if (!record) {
      const body = html`<h1>Approval</h1><p class="empty">No approval request with this id.</p><p><a href="/approvals">Back to the queue</a></p>`;
      return deps.page(c, 'Approval', 'approvals', body, { status: 404 });
    }
    if (reveal) {
      await deps.auditAdmin({
        kind: 'admin',
        action: 'pii.reveal',
        actor: `console:${viewer.name}`,
        target: record.id,
        detail: { tool: record.tool, identity: record.identity },
      });
    }
    const card = await cards.card(record, viewer, reveal);
    const decided = record.decidedBy
      ? html` by <strong>${record.decidedBy}</strong> ${time(record.decidedAt)}`
      : '';
    const body = html`<h1>Approval <code>${record.id}</code></h1>
<p>${statusPill(record)}${decided}${record.reason ? html` — “${record.reason}”` : ''}${record.consumedAt ? html`; delivered to the agent ${time(record.consumedAt)}` : ''}</p>
${record.status === 'pending' ? card : html`<div class="panel">${card}</div>`}
<p><a href="/approvals">Back to the queue</a></p>`;
    return deps.page(c, `Approval ${record.id}`, 'approvals', body);
  });

  return app;
}
