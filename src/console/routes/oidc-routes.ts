/**
 * Sign-in through the customer's IdP (oidc-sign-in.ts): `GET /login/oidc?next=…` starts it (a
 * `__Host-airlock_oidc` cookie, SameSite=Lax so it survives the IdP's redirect back, names the flow);
 * `GET /login/oidc/callback` finishes it and starts a console session. The session cookie is
 * SameSite=Strict, which a browser leaves out of a redirect chain that began at the IdP, so the
 * callback answers with a small page that moves on to `next` by itself (`<meta http-equiv=refresh>`,
 * no script) — a same-site navigation that carries the cookie.
 *
 * @example
 * app.route('/', oidcRoutes({ oidc, sessions, log }));
 */
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { Logger } from 'pino';
import { AirlockError } from '../../errors/airlock-error.js';
import type { ConsoleEnv, Ctx } from '../console-env.js';
import { renderPage } from '../console-layout.js';
import { type ConsoleSessions, SESSION_COOKIE } from '../console-sessions.js';
import { type ConsoleOidc, DEFAULT_OIDC_FLOW_TTL_MS } from '../oidc-sign-in.js';
import { safeNext } from './login-routes.js';

/** Cookie naming the sign-in in progress at the IdP. */
export const OIDC_FLOW_COOKIE = '__Host-airlock_oidc';
/** Path of the callback registered at the IdP (on the console's origin). */
export const OIDC_CALLBACK_PATH = '/login/oidc/callback';

export interface OidcRoutesDeps {
  oidc: ConsoleOidc;
  sessions: ConsoleSessions;
  log: Logger;
}

/** The IdP sign-in sub-app (mounted before the session check). */
export function oidcRoutes(deps: OidcRoutesDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  const refused = (c: Ctx, message: string, status: 403 | 502) =>
    c.html(
      renderPage(
        { title: 'Sign-in refused' },
        html`<div class="login"><h1>Sign-in refused</h1><p class="notice error" role="alert">${message}</p><p><a href="/login">Back to sign-in</a></p></div>`,
      ),
      status,
    );

  app.get('/login/oidc', async (c) => {
    const origin = new URL(c.req.url).origin;
    try {
      const { url, flowId } = await deps.oidc.start(
        `${origin}${OIDC_CALLBACK_PATH}`,
        safeNext(c.req.query('next')),
      );
      setCookie(c, OIDC_FLOW_COOKIE, flowId, {
        secure: true,
        httpOnly: true,
        sameSite: 'Lax',
        path: '/',
        maxAge: Math.round(DEFAULT_OIDC_FLOW_TTL_MS / 1000),
      });
      return c.redirect(url.href, 303);
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      deps.log.warn({ err }, 'console sign-in through the IdP could not start');
      return refused(c, err.message, 502);
    }
  });

  app.get(OIDC_CALLBACK_PATH, async (c) => {
    const flowId = getCookie(c, OIDC_FLOW_COOKIE);
    deleteCookie(c, OIDC_FLOW_COOKIE, { secure: true, path: '/' });
    try {
      const { account, next } = await deps.oidc.finish(flowId, new URL(c.req.url));
      const { id } = deps.sessions.create(account.name);
      setCookie(c, SESSION_COOKIE, id, { secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
      deps.log.info({ account: account.name, role: account.role }, 'console sign-in through the IdP');
      const page = renderPage(
        { title: 'Signed in' },
        html`<div class="login"><h1>Signed in</h1><p>Signed in as <strong>${account.name}</strong> (${account.role}). <a href="${next}">Continue</a></p></div>`,
      );
      const refresh = `<meta http-equiv="refresh" content="0;url=${escapeAttr(next)}">`;
      return c.html(String(await page).replace('<meta charset="utf-8">', `<meta charset="utf-8">${refresh}`));
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      deps.log.warn({ code: err.code, err: err.message }, 'console sign-in through the IdP refused');
      return refused(c, err.message, 403);
    }
  });

  return app;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
