/**
 * `POST /approvals/:id/approve` and `/deny`: a supervisor's decision, made as the signed-in console
 * account's principal (`console:<account>`, with the account's role, see
 * src/approvals/approval-principal.ts) — never as a name typed into a form. Mounted after the session
 * and CSRF checks. On a two-person request an approval that does not complete the quorum answers
 * `{ ok: true, approval }` with `approval.status` still `pending` and `approval.votes` listing who
 * approved so far (the HTML form redirects with `done=voted`).
 *
 * `GET /api/approvals/overrides`: break-glass overrides, read-only, without their arguments.
 *
 * @example
 * app.route('/', approvalDecisionRoutes({ queue, approvalsPage }));
 */
import { Hono } from 'hono';
import { APPROVAL_ERROR_CODES, ApprovalError } from '../../approvals/approval-error.js';
import { consoleApprover } from '../../approvals/approval-principal.js';
import type { ApprovalQueue } from '../../approvals/approval-queue.js';
import type { ConsoleEnv, Ctx } from '../console-env.js';
import { maySupervise, type Notice } from '../console-layout.js';
import { formField, respondError, withoutArguments } from '../console-responses.js';

export interface ApprovalDecisionDeps {
  queue: ApprovalQueue;
  /** Renders the approvals page with a notice (the HTML answer to a form post). */
  approvalsPage(c: Ctx, notice: Notice | undefined, status: number): Promise<Response>;
}

/** HTTP status of a refused decision. */
function statusOf(err: ApprovalError): 400 | 403 | 404 | 409 {
  if (err.code === APPROVAL_ERROR_CODES.selfApproval) return 403;
  if (err.code === APPROVAL_ERROR_CODES.roleIneligible) return 403;
  if (err.code === APPROVAL_ERROR_CODES.unknown) return 404;
  if (err.code === APPROVAL_ERROR_CODES.decided || err.code === APPROVAL_ERROR_CODES.expired) return 409;
  if (err.code === APPROVAL_ERROR_CODES.alreadyVoted) return 409;
  return 400;
}

/** The decision sub-app. */
export function approvalDecisionRoutes(deps: ApprovalDecisionDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/api/approvals/overrides', async (c) => {
    if (!maySupervise(c.get('viewer'))) {
      return respondError(c, 403, 'AIRLOCK_CONSOLE_FORBIDDEN', 'Your role may not see overrides.');
    }
    const rows = await deps.queue.overrides.list();
    return c.json({ overrides: rows.map(({ arguments: _args, ...rest }) => rest) });
  });
  for (const action of ['approve', 'deny'] as const) {
    app.post(`/approvals/:id/${action}`, async (c) => {
      const viewer = c.get('viewer');
      const wantsJson = (c.req.header('accept') ?? '').includes('application/json');
      if (!maySupervise(viewer)) {
        const message = `Your role (${viewer.role}) may not decide approvals.`;
        return respondError(c, 403, 'AIRLOCK_CONSOLE_FORBIDDEN', message);
      }
      const id = c.req.param('id');
      const reason = await formField(c, 'reason');
      try {
        // The principal is the account the session belongs to (re-read from the store on this request).
        const approver = consoleApprover(c.get('account'));
        const decided =
          action === 'approve'
            ? await deps.queue.approve(id, approver, reason)
            : await deps.queue.deny(id, approver, reason ?? '');
        if (wantsJson) return c.json({ ok: true, approval: withoutArguments(decided) });
        const done = decided.status === 'pending' ? 'voted' : action === 'approve' ? 'approved' : 'denied';
        return c.redirect(`/approvals?done=${done}&id=${encodeURIComponent(decided.id)}`, 303);
      } catch (err) {
        if (!(err instanceof ApprovalError)) throw err;
        const status = statusOf(err);
        if (wantsJson) return c.json({ error: { code: err.code, message: err.message } }, status);
        return deps.approvalsPage(c, { kind: 'error', text: err.message }, status);
      }
    });
  }
  return app;
}
