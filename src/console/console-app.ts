/**
 * The connector's web console: a Hono app with server-rendered pages and one small script served
 * by itself. Served on the admin address (127.0.0.1 by default), never through the tunnel. This file
 * only wires the guards and mounts one sub-app per page (src/console/routes/).
 *
 * Security, in the order a request meets it (console-guards.ts):
 *
 * - **Host check** (DNS rebinding): the `Host` header must name 127.0.0.1, localhost, [::1] or one
 *   of `allowedHosts`; anything else gets 421.
 * - **Origin check**: every non-GET request must carry an `Origin` equal to the console's own origin
 *   (or one of `trustedOrigins`); a foreign or missing Origin gets 403.
 * - **Login**: every page but `/login`, `/login/oidc*`, `/healthz` and the two assets needs a session: a
 *   random id in the `__Host-airlock_session` cookie (Secure, HttpOnly, SameSite=Strict, Path=/).
 *   Chromium and Firefox store Secure cookies from http://127.0.0.1 and http://localhost (potentially
 *   trustworthy origins). Accounts live in the store with scrypt hashes; the account is re-read on
 *   every request, so disabling it ends its sessions. Sign-in attempts are throttled with exponential
 *   delays per source and per account, with no lock-out an attacker could trigger
 *   (routes/login-routes.ts, login-throttle.ts). With `oidc`, people sign in through the customer's
 *   IdP (authorization code + PKCE, oidc-sign-in.ts); local accounts stay as break-glass.
 * - **CSRF**: every state-changing request carries the session's token (`_csrf` form field or
 *   `X-CSRF-Token` header); the sign-in form uses a double-submit cookie.
 * - **Content-Security-Policy** `default-src 'none'; script-src 'self'; style-src 'self'; …`: no
 *   inline script or style anywhere; `frame-ancestors 'none'`; `no-store` caching.
 *
 * Roles: `admin` (everything), `supervisor` (decide approvals, read the rest), `auditor` (read only).
 * Argument values that look like personal data are masked unless the account may reveal PII; every
 * unmasked view is audited (`pii.reveal`).
 *
 * @example
 * const consoleApp = createConsoleApp({ store, approvals: queue, status: () => connector.status(), auditPublicKeyPem });
 * const server = await serveConsole(consoleApp, { host: '127.0.0.1', port: 7070 });
 * // ...
 * await server.close();
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { AirlockError } from '../errors/airlock-error.js';
import { ActivityCounters } from './activity-counters.js';
import { approvalCards } from './approval-cards.js';
import { CONSOLE_CSS, CONSOLE_JS } from './console-assets.js';
import { createConsoleDeps } from './console-deps.js';
import type { ConsoleEnv, Ctx } from './console-env.js';
import {
  consoleAllowedHosts,
  consoleSecureHeaders,
  hostGuard,
  noStore,
  originGuard,
  requireViewer,
} from './console-guards.js';
import { renderPage } from './console-layout.js';
import {
  type ConsoleApp,
  type ConsoleAppOptions,
  DEFAULT_CONSOLE_MAX_BODY_BYTES,
  DEFAULT_SSE_HEARTBEAT_MS,
} from './console-options.js';
import { respondError } from './console-responses.js';
import { SESSION_COOKIE } from './console-sessions.js';
import { LoginThrottle } from './login-throttle.js';
import { ConsoleOidc } from './oidc-sign-in.js';
import { approvalDecisionRoutes } from './routes/approval-decision-routes.js';
import { approvalEventsRoutes } from './routes/approval-events.js';
import { approvalsRoutes } from './routes/approvals-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { catalogRoutes } from './routes/catalog-routes.js';
import { identitiesRoutes } from './routes/identities-routes.js';
import { loginRoutes } from './routes/login-routes.js';
import { oidcRoutes } from './routes/oidc-routes.js';
import { overviewRoutes } from './routes/overview-routes.js';
import { policyRoutes } from './routes/policy-routes.js';
import { reportRoutes } from './routes/report.js';

export { hostName } from './console-guards.js';
export * from './console-options.js';

/** See the module comment. */
export function createConsoleApp(options: ConsoleAppOptions): ConsoleApp {
  const deps = createConsoleDeps(options);
  const { store, sessions, log, now } = deps;
  const activity =
    options.activity === false ? undefined : (options.activity ?? new ActivityCounters({ now }));
  if (activity && options.activity === undefined) activity.start();
  const allowedHosts = consoleAllowedHosts(options.allowedHosts);
  const trustedOrigins = new Set((options.trustedOrigins ?? []).map((o) => o.toLowerCase()));
  const oidc = options.oidc ? new ConsoleOidc(options.oidc, { store: store.adminAccounts, now }) : undefined;

  const app = new Hono<ConsoleEnv>();
  app.use('*', consoleSecureHeaders(), hostGuard(allowedHosts), originGuard(trustedOrigins, log));
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? DEFAULT_CONSOLE_MAX_BODY_BYTES,
      onError: (c) => c.text('Request too large', 413),
    }),
  );
  app.use('*', noStore());
  mountPublic(app, options);
  const throttle = new LoginThrottle({ now, ...options.loginThrottle });
  const tenantHost = async () => (await options.status()).tenantHost;
  app.route(
    '/',
    loginRoutes({
      store,
      sessions,
      throttle,
      log,
      currentViewer: deps.currentViewer,
      tenantHost,
      ...(oidc ? { oidcLabel: oidc.label } : {}),
    }),
  );
  if (oidc) app.route('/', oidcRoutes({ oidc, sessions, log }));

  // Everything below needs a session (and a CSRF token on writes).
  app.use('*', requireViewer(deps.currentViewer, log));
  if (options.report) app.route('/report', reportRoutes({ source: options.report }));
  app.post('/logout', (c) => {
    sessions.destroy(c.get('sessionId'));
    deleteCookie(c, SESSION_COOKIE, { secure: true, path: '/' });
    return c.redirect('/login', 303);
  });
  const cards = approvalCards(deps);
  const policy = policyRoutes(deps);
  app.route('/', overviewRoutes(deps, activity));
  app.route('/', approvalsRoutes(deps, cards));
  app.route('/', approvalDecisionRoutes({ queue: deps.queue, approvalsPage: cards.page }));
  app.route('/', approvalEventsRoutes(deps, cards, options.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS));
  app.route('/', auditRoutes(deps));
  app.route('/', catalogRoutes(deps));
  app.route('/', identitiesRoutes(deps));
  app.route('/', policy.app);
  mountFallbacks(app, deps.log);

  return {
    app,
    fetch: app.fetch,
    sessions,
    approvals: deps.queue,
    async close() {
      deps.closing.abort();
      if (activity && options.activity === undefined) activity.stop();
      policy.close();
      await deps.ownQueue?.close();
    },
  };
}

/** Routes without a session: health, the upstream-token JWKS, the stylesheet and the script. */
function mountPublic(app: Hono<ConsoleEnv>, options: ConsoleAppOptions): void {
  app.get('/healthz', (c) => c.json({ ok: true }));
  // Public keys of the tokens the connector mints for upstreams (they verify `sub`/`act` with it).
  const jwks = options.upstreamTokenJwks;
  if (jwks) app.get('/.well-known/jwks.json', (c) => c.json(jwks()));
  const asset = (body: string, type: string) => ({
    body,
    headers: { 'content-type': type, 'cache-control': 'no-cache' },
  });
  const css = asset(CONSOLE_CSS, 'text/css; charset=utf-8');
  const js = asset(CONSOLE_JS, 'text/javascript; charset=utf-8');
  app.get('/console.css', (c) => c.body(css.body, 200, css.headers));
  app.get('/console.js', (c) => c.body(js.body, 200, js.headers));
  app.get('/favicon.ico', (c) => c.body(null, 404));
}

/** The not-found page and the error answer (details go to the log, never to the page). */
function mountFallbacks(app: Hono<ConsoleEnv>, log: ConsoleDepsLog): void {
  app.notFound((c) =>
    c.html(
      renderPage(
        { title: 'Not found' },
        html`<h1>Not found</h1><p>This page does not exist. <a href="/">Go to the overview</a>.</p>`,
      ),
      404,
    ),
  );
  app.onError((err, c) => {
    log.error({ err, path: c.req.path }, 'console request failed');
    const code = err instanceof AirlockError ? err.code : 'AIRLOCK_CONSOLE_INTERNAL';
    const message = 'Something went wrong while handling this request. The connector log has the details.';
    return respondError(c as unknown as Ctx, 500, code, message);
  });
}

type ConsoleDepsLog = ReturnType<typeof createConsoleDeps>['log'];
