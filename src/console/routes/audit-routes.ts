/**
 * The Audit pages: `GET /audit` (filtered list and verification status), `GET /audit/verify` (runs
 * `verifyAuditTrail` and remembers the outcome), `GET /audit/:seq` (one entry a person can read).
 *
 * @example
 * app.route('/', auditRoutes(deps));
 */
import { Hono } from 'hono';
import { verifyAuditTrail } from '../../audit/audit-verify.js';
import { storedAuditCheckpoints, storedAuditEntries } from '../../audit/stored-trail.js';
import { renderAuditEntryBody } from '../audit-entry-view.js';
import {
  type AuditFilters,
  type AuditVerification,
  renderAuditBody,
  renderVerification,
  searchAudit,
} from '../audit-page.js';
import type { ConsoleDeps } from '../console-deps.js';
import type { ConsoleEnv } from '../console-env.js';

/** Longest free-text filter value kept. */
export const MAX_AUDIT_FILTER_LENGTH = 200;

/** The audit sub-app. */
export function auditRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  const { store, options } = deps;
  let verification: AuditVerification | undefined;

  app.get('/audit', async (c) => {
    const q = c.req.query();
    const cut = (v: string) => v.slice(0, MAX_AUDIT_FILTER_LENGTH);
    const filters: AuditFilters = {
      ...(q.q ? { q: cut(q.q) } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.decision ? { decision: q.decision } : {}),
      ...(q.agent ? { agent: cut(q.agent) } : {}),
      ...(q.tool ? { tool: cut(q.tool) } : {}),
      ...(q.before && /^\d+$/.test(q.before) ? { before: Number(q.before) } : {}),
    };
    const result = await searchAudit(store.audit, filters);
    const body = renderAuditBody({
      filters,
      result,
      verification: renderVerification(verification, options.auditPublicKeyPem !== undefined),
    });
    return deps.page(c, 'Audit', 'audit', body);
  });

  app.get('/audit/verify', async (c) => {
    if (!options.auditPublicKeyPem) return c.redirect('/audit', 303);
    const report = await verifyAuditTrail({
      entries: storedAuditEntries(store.audit),
      checkpoints: await storedAuditCheckpoints(store.audit),
      publicKey: options.auditPublicKeyPem,
    });
    verification = { report, checkedAt: deps.now(), checkedBy: c.get('viewer').name };
    return c.redirect('/audit', 303);
  });

  app.get('/audit/:seq{[0-9]+}', async (c) => {
    const seq = Number(c.req.param('seq'));
    const row = await store.audit.getAuditEntry(seq);
    const body = renderAuditEntryBody(row, seq);
    return deps.page(c, `Audit entry ${seq}`, 'audit', body, { status: row ? 200 : 404 });
  });

  return app;
}
