/**
 * The Identities pages: `GET /identities` (agents with client certificates, the policy's identity
 * entries), `POST /identities` (issue a certificate, admins, when the tenant PKI is configured) and
 * `POST /identities/:name/revoke` (admins); both actions are audited.
 *
 * @example
 * app.route('/', identitiesRoutes(deps));
 */
import { join } from 'node:path';
import { Hono } from 'hono';
import { AirlockError } from '../../errors/airlock-error.js';
import { issueAgentIdentity, revokeAgentIdentity } from '../../identity/tenant-pki.js';
import type { ConsoleDeps } from '../console-deps.js';
import type { ConsoleEnv, Ctx } from '../console-env.js';
import { isAdmin, type Notice } from '../console-layout.js';
import { formField, respondError } from '../console-responses.js';
import { renderIdentitiesBody } from '../identities-page.js';

/** Default validity of a certificate issued from the console, in days. */
export const DEFAULT_CONSOLE_IDENTITY_DAYS = 90;
/** Longest validity the console issues (the CA/Browser Forum's old ceiling). */
export const MAX_CONSOLE_IDENTITY_DAYS = 825;

interface Issued {
  name: string;
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** The identities sub-app. */
export function identitiesRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  const { store, options } = deps;

  const forbidden = (c: Ctx, what: string) =>
    respondError(c, 403, 'AIRLOCK_CONSOLE_FORBIDDEN', `Your role (${c.get('viewer').role}) may not ${what}.`);

  app.get('/identities', async (c) => {
    const name = c.req.query('name') ?? '';
    const notice: Notice | undefined =
      c.req.query('done') === 'revoked' && /^[a-z0-9][a-z0-9._-]{0,62}$/.test(name)
        ? { kind: 'ok', text: `Revoked ${name}: its next request is refused.` }
        : undefined;
    return identitiesPage(deps, c, notice);
  });

  app.post('/identities', async (c) => {
    const viewer = c.get('viewer');
    if (!isAdmin(viewer)) return forbidden(c, 'issue identities');
    if (!options.pki || !options.identityOutDir) {
      const text = 'Issuing from the console is not configured; use "airlock identity issue <name>".';
      return identitiesPage(deps, c, { kind: 'error', text }, 400);
    }
    const name = ((await formField(c, 'name')) ?? '').trim();
    const days = Number((await formField(c, 'days')) ?? String(DEFAULT_CONSOLE_IDENTITY_DAYS));
    if (!Number.isInteger(days) || days < 1 || days > MAX_CONSOLE_IDENTITY_DAYS) {
      const text = `Validity must be a whole number of days between 1 and ${MAX_CONSOLE_IDENTITY_DAYS}.`;
      return identitiesPage(deps, c, { kind: 'error', text }, 400);
    }
    try {
      const out = join(options.identityOutDir, name);
      const issued = await issueAgentIdentity(options.pki, store, name, out, { validDays: days });
      await deps.auditAdmin({
        kind: 'admin',
        action: 'identity.issue',
        actor: `console:${viewer.name}`,
        target: name,
        detail: { serial: issued.record.certSerial, notAfter: issued.record.notAfter },
      });
      const files = { certFile: issued.certFile, keyFile: issued.keyFile, caFile: issued.caFile };
      return identitiesPage(deps, c, undefined, 200, { name, ...files });
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      return identitiesPage(deps, c, { kind: 'error', text: err.message }, 400);
    }
  });

  app.post('/identities/:name/revoke', async (c) => {
    const viewer = c.get('viewer');
    if (!isAdmin(viewer)) return forbidden(c, 'revoke identities');
    const name = c.req.param('name');
    try {
      if (!(await revokeAgentIdentity(store, name, deps.now()))) {
        return identitiesPage(deps, c, { kind: 'error', text: `No agent identity named ${name}.` }, 404);
      }
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      return identitiesPage(deps, c, { kind: 'error', text: err.message }, 400);
    }
    await deps.auditAdmin({
      kind: 'admin',
      action: 'identity.revoke',
      actor: `console:${viewer.name}`,
      target: name,
    });
    return c.redirect(`/identities?done=revoked&name=${encodeURIComponent(name)}`, 303);
  });

  return app;
}

/** The identities page with an optional notice and the files of a just-issued identity. */
async function identitiesPage(
  deps: ConsoleDeps,
  c: Ctx,
  notice: Notice | undefined,
  status = 200,
  issued?: Issued,
) {
  const { store, options } = deps;
  const body = renderIdentitiesBody({
    identities: await store.identities.listIdentities(),
    policy: options.policy?.current.policy,
    canIssue: Boolean(options.pki && options.identityOutDir),
    viewer: c.get('viewer'),
    now: deps.now(),
    ...(issued ? { issued } : {}),
  });
  return deps.page(c, 'Identities', 'identities', body, { status, ...(notice ? { notice } : {}) });
}
