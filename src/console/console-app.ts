/**
 * The connector's web console: a Hono app with server-rendered pages and one small script served
 * by itself. Served on the admin address (127.0.0.1 by default), never through the tunnel.
 *
 * Security, in the order a request meets it:
 *
 * - **Host check** (DNS rebinding): the `Host` header must name 127.0.0.1, localhost, [::1] or one
 *   of `allowedHosts`; anything else gets 421.
 * - **Origin check**: every non-GET request must carry an `Origin` equal to the console's own origin
 *   (or one of `trustedOrigins`); a foreign or missing Origin gets 403.
 * - **Login**: every page but `/login`, `/healthz` and the two assets needs a session: a random id in
 *   the `__Host-airlock_session` cookie (Secure, HttpOnly, SameSite=Strict, Path=/). Chromium and
 *   Firefox store Secure cookies from http://127.0.0.1 and http://localhost (potentially trustworthy
 *   origins). Accounts live in the store with scrypt hashes; the account is re-read on every request,
 *   so disabling it ends its sessions. Sign-in attempts are rate limited per account name.
 * - **CSRF**: every state-changing request carries the session's token (`_csrf` form field or
 *   `X-CSRF-Token` header); the sign-in form uses a double-submit cookie.
 * - **Content-Security-Policy** `default-src 'none'; script-src 'self'; style-src 'self'; …`: no
 *   inline script or style anywhere; `frame-ancestors 'none'`; `no-store` caching.
 *
 * Roles: `admin` (everything), `supervisor` (decide approvals, read the rest), `auditor` (read only).
 * Argument values that look like personal data are masked unless the account may reveal PII.
 *
 * @example
 * const consoleApp = createConsoleApp({ store, approvals: queue, status: () => connector.status(), auditPublicKeyPem });
 * const server = await serveConsole(consoleApp, { host: '127.0.0.1', port: 7070 });
 * // ...
 * await server.close();
 */
import { join } from 'node:path';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { secureHeaders } from 'hono/secure-headers';
import { streamSSE } from 'hono/streaming';
import { type Logger, pino } from 'pino';
import { APPROVAL_ERROR_CODES, ApprovalError } from '../approvals/approval-error.js';
import { ApprovalQueue } from '../approvals/approval-queue.js';
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import { verifyAuditTrail } from '../audit/audit-verify.js';
import { storedAuditCheckpoints, storedAuditEntries } from '../audit/stored-trail.js';
import { prettyCanonical } from '../catalog/canonical-hash.js';
import { CatalogAdmin, type CatalogAdmin as CatalogAdminType } from '../catalog/catalog-admin.js';
import { AirlockError } from '../errors/airlock-error.js';
import { issueAgentIdentity, revokeAgentIdentity, type TenantPki } from '../identity/tenant-pki.js';
import { PiiScanner } from '../pii/pii-scanner.js';
import type { PolicyWatcher } from '../policy/policy-watcher.js';
import { KeyedTokenBucket } from '../policy/token-bucket.js';
import type { AdminAccountRecord, ApprovalRecord, Store } from '../store/store.js';
import { ActivityCounters } from './activity-counters.js';
import {
  approvalView,
  DEFAULT_COMPARE_CANDIDATES,
  renderApprovalCard,
  renderApprovalsBody,
  renderRecentRows,
  statusPill,
} from './approvals-page.js';
import {
  type AuditFilters,
  type AuditVerification,
  renderAuditBody,
  renderAuditEntryBody,
  renderVerification,
  searchAudit,
} from './audit-page.js';
import { renderCatalogBody, renderToolBody } from './catalog-page.js';
import type { ConnectorStatus } from './connector-status.js';
import { CONSOLE_CSS, CONSOLE_JS } from './console-assets.js';
import {
  type Html,
  isAdmin,
  maySupervise,
  type NavKey,
  type Notice,
  renderPage,
  time,
  type Viewer,
} from './console-layout.js';
import {
  ConsoleSessions,
  type ConsoleSessionsOptions,
  LOGIN_CSRF_COOKIE,
  SESSION_COOKIE,
  sameToken,
} from './console-sessions.js';
import { renderIdentitiesBody } from './identities-page.js';
import { renderLoginPage } from './login-page.js';
import { type ConsoleAgentSession, renderOverviewBody } from './overview-page.js';
import { hashPassword, verifyPassword } from './password-hash.js';
import { renderPolicyBody, renderPolicyVersionBody } from './policy-page.js';

/** Host names the console answers to without configuration (loopback). */
export const DEFAULT_CONSOLE_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];
/** Largest request body the console accepts (forms are small). */
export const DEFAULT_CONSOLE_MAX_BODY_BYTES = 64 * 1024;
/** Sign-in attempts per account name: burst, then one every 30 s. */
export const DEFAULT_LOGIN_RATE = Object.freeze({ perSecond: 1 / 30, burst: 10 });
/** Interval of keep-alive comments on the live approvals stream. */
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

export interface ConsoleAppOptions {
  /** The connector's store (accounts, approvals, identities, policy versions, audit, catalog). */
  store: Store;
  /** The connector's approval queue (the one the tier stage uses). Default: a queue on `store.approvals`. */
  approvals?: ApprovalQueue;
  /** Snapshot of tunnels, upstreams and sessions (`connector.status()`). */
  status: () => Promise<ConnectorStatus> | ConnectorStatus;
  /** Live agent sessions (`AgentMcpEndpoint.sessions()`), for the overview. */
  sessions?: () => readonly ConsoleAgentSession[];
  /** Audit public key (SPKI PEM) to verify the trail; without it the page says verification is unavailable. */
  auditPublicKeyPem?: string;
  /** Where admin actions are audited (the `AuditLedger`). */
  audit?: { append(event: AdminAuditEvent): Promise<unknown> };
  /** Catalog page: called after every kill-switch / approval change (e.g. to push tools/list_changed). */
  onCatalogChange?: () => void | Promise<void>;
  /** The policy watcher, for the Policy page and the tools' tiers. */
  policy?: PolicyWatcher;
  /** Tenant PKI to issue identities from the console; without it the page points to the CLI. */
  pki?: TenantPki;
  /** Where issued identities' files are written (`<dir>/<name>/`). Required with `pki`. */
  identityOutDir?: string;
  /** PII detection for masking; `false` shows values unmasked to everyone. Default: a default `PiiScanner`. */
  pii?: PiiScanner | false;
  /** Extra host names (with or without port) the console answers to, e.g. `console.acme.internal`. */
  allowedHosts?: readonly string[];
  /** Extra origins allowed to send state-changing requests (e.g. behind a TLS reverse proxy). */
  trustedOrigins?: readonly string[];
  /** Session lifetimes; see `ConsoleSessionsOptions`. */
  session?: ConsoleSessionsOptions;
  /** Live activity counters for the overview; `false` to disable. Default: a started `ActivityCounters`. */
  activity?: ActivityCounters | false;
  /** Sign-in rate per account name. Default {@link DEFAULT_LOGIN_RATE}. */
  loginRate?: { perSecond: number; burst: number };
  /** Default {@link DEFAULT_CONSOLE_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Default {@link DEFAULT_SSE_HEARTBEAT_MS}. */
  sseHeartbeatMs?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** Default silent. */
  /** JWKS of the connector's upstream-token key, served at `/.well-known/jwks.json` without login. */
  upstreamTokenJwks?: () => unknown;
  logger?: Logger;
}

export interface ConsoleApp {
  readonly app: Hono<ConsoleEnv>;
  readonly fetch: Hono<ConsoleEnv>['fetch'];
  readonly sessions: ConsoleSessions;
  readonly approvals: ApprovalQueue;
  /** Ends live streams and timers (call before closing the HTTP server). */
  close(): Promise<void>;
}

interface ConsoleEnv {
  Variables: {
    viewer: Viewer;
    account: AdminAccountRecord;
    sessionId: string;
  };
}

type Ctx = Context<ConsoleEnv>;

/** See the module comment. */
export function createConsoleApp(options: ConsoleAppOptions): ConsoleApp {
  const store = options.store;
  const log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'console' });
  const now = options.now ?? Date.now;
  const ownQueue = options.approvals
    ? undefined
    : new ApprovalQueue({ repository: store.approvals, sweepIntervalMs: 0 });
  const queue = options.approvals ?? (ownQueue as ApprovalQueue);
  const sessions = new ConsoleSessions({ now, ...options.session });
  const activity =
    options.activity === false ? undefined : (options.activity ?? new ActivityCounters({ now }));
  if (activity && options.activity === undefined) activity.start();
  const scanner = options.pii === false ? undefined : (options.pii ?? new PiiScanner());
  const loginBuckets = new KeyedTokenBucket({ ...(options.loginRate ?? DEFAULT_LOGIN_RATE) });
  const globalLogins = new KeyedTokenBucket({ perSecond: 5, burst: 50 });
  const allowedHosts = new Set(
    [...DEFAULT_CONSOLE_HOSTS, ...(options.allowedHosts ?? [])].map((h) => h.toLowerCase()),
  );
  const trustedOrigins = new Set((options.trustedOrigins ?? []).map((o) => o.toLowerCase()));
  const heartbeatMs = options.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS;
  const closing = new AbortController();
  let verification: AuditVerification | undefined;
  let lastPolicyRejection: { error: Error; at: number } | undefined;
  const onPolicyError = (error: Error) => {
    lastPolicyRejection = { error, at: now() };
  };
  const onPolicyChange = () => {
    lastPolicyRejection = undefined;
  };
  options.policy?.on('error', onPolicyError);
  options.policy?.on('change', onPolicyChange);
  // A verification of a dummy hash for unknown accounts keeps sign-in timing uniform.
  const dummyHash = hashPassword('airlock-console-timing-equaliser');

  const app = new Hono<ConsoleEnv>();

  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      // Not `no-referrer`: with it, Chromium sends `Origin: null` on form posts and the Origin check
      // could not tell the console's own forms from anyone else's. Cross-origin requests still get no referrer.
      referrerPolicy: 'same-origin',
      xFrameOptions: 'DENY',
      crossOriginResourcePolicy: 'same-origin',
      crossOriginOpenerPolicy: 'same-origin',
    }),
  );

  // DNS rebinding: only the names the console is meant to be reached by.
  app.use('*', async (c, next) => {
    const host = hostName(c.req.header('host'));
    if (!host || !(allowedHosts.has(host) || allowedHosts.has((c.req.header('host') ?? '').toLowerCase()))) {
      return c.text('This console only answers to its configured host names.', 421);
    }
    await next();
  });

  // Cross-origin writes: every non-GET must come from this origin.
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('origin')?.toLowerCase();
      const own = new URL(c.req.url).origin.toLowerCase();
      if (!origin || (origin !== own && !trustedOrigins.has(origin))) {
        log.warn({ origin: origin ?? null, path: c.req.path }, 'cross-origin request refused');
        return c.text('Refused: this request did not come from the console itself (Origin check).', 403);
      }
    }
    await next();
  });

  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? DEFAULT_CONSOLE_MAX_BODY_BYTES,
      onError: (c) => c.text('Request too large', 413),
    }),
  );

  app.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });

  // ------------------------------------------------------------------ public routes
  app.get('/healthz', (c) => c.json({ ok: true }));
  // Public keys of the tokens the connector mints for upstreams (they verify `sub`/`act` with it).
  const jwks = options.upstreamTokenJwks;
  if (jwks) app.get('/.well-known/jwks.json', (c) => c.json(jwks()));
  app.get('/console.css', (c) =>
    c.body(CONSOLE_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  app.get('/console.js', (c) =>
    c.body(CONSOLE_JS, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
    }),
  );
  app.get('/favicon.ico', (c) => c.body(null, 404));

  app.get('/login', async (c) => {
    if (await currentViewer(c)) return c.redirect(safeNext(c.req.query('next')), 303);
    return loginPage(c, { next: safeNext(c.req.query('next')) });
  });

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const name = typeof form.name === 'string' ? form.name.trim() : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    if (
      !sameToken(getCookie(c, LOGIN_CSRF_COOKIE), typeof form._csrf === 'string' ? form._csrf : undefined)
    ) {
      return loginPage(c, {
        next,
        name,
        status: 403,
        notice: {
          kind: 'error',
          text: 'The sign-in form expired or was not sent by this console. Please sign in again.',
        },
      });
    }
    const limited = !globalLogins.take('*').allowed || !loginBuckets.take(name.toLowerCase()).allowed;
    if (limited) {
      return loginPage(c, {
        next,
        name,
        status: 429,
        notice: {
          kind: 'error',
          text: 'Too many sign-in attempts for this account. Wait a minute and try again.',
        },
      });
    }
    const account =
      name && password.length <= 1024 ? await store.adminAccounts.getAdminAccount(name) : undefined;
    let ok = false;
    if (account) ok = account.disabledAt === null && (await verifyPassword(password, account.passwordHash));
    else await verifyPassword(password, await dummyHash);
    if (!account || !ok) {
      log.warn({ account: name }, 'console sign-in failed');
      return loginPage(c, {
        next,
        name,
        status: 401,
        notice: { kind: 'error', text: 'Wrong account name or password.' },
      });
    }
    const { id } = sessions.create(account.name);
    setCookie(c, SESSION_COOKIE, id, { secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
    deleteCookie(c, LOGIN_CSRF_COOKIE, { secure: true, path: '/' });
    log.info({ account: account.name }, 'console sign-in');
    return c.redirect(next, 303);
  });

  // ------------------------------------------------------------------ everything else needs a session
  const requireViewer: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const viewer = await currentViewer(c);
    if (!viewer) {
      if (c.req.method === 'GET' && !c.req.path.startsWith('/api/') && !c.req.path.startsWith('/events/')) {
        return c.redirect(
          `/login?next=${encodeURIComponent(c.req.path + (new URL(c.req.url).search || ''))}`,
          303,
        );
      }
      return c.json(
        { error: { code: 'AIRLOCK_CONSOLE_LOGIN_REQUIRED', message: 'Sign in to the console first.' } },
        401,
      );
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const header = c.req.header('x-csrf-token');
      let token = header;
      if (token === undefined) {
        const type = c.req.header('content-type') ?? '';
        if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
          const form = await c.req.parseBody();
          token = typeof form._csrf === 'string' ? form._csrf : undefined;
        }
      }
      if (!sameToken(token, viewer.csrfToken)) {
        log.warn({ account: viewer.name, path: c.req.path }, 'request without a valid CSRF token refused');
        return respondError(
          c,
          403,
          'AIRLOCK_CONSOLE_CSRF',
          'Refused: the request did not carry this session’s CSRF token. Reload the page and try again.',
        );
      }
    }
    await next();
  };
  app.use('*', requireViewer);

  app.post('/logout', (c) => {
    sessions.destroy(c.get('sessionId'));
    deleteCookie(c, SESSION_COOKIE, { secure: true, path: '/' });
    return c.redirect('/login', 303);
  });

  // ------------------------------------------------------------------ overview
  app.get('/', async (c) => {
    const status = await options.status();
    const body = renderOverviewBody({
      status,
      sessions: options.sessions?.(),
      activity: activity?.snapshot(),
      pendingApprovals: await pendingCount(),
      now: now(),
    });
    return page(c, 'Overview', 'overview', body, status.tenantHost);
  });
  app.get('/api/status', async (c) => c.json(await options.status()));

  // ------------------------------------------------------------------ approvals
  app.get('/approvals', async (c) => {
    const done = c.req.query('done');
    const id = c.req.query('id') ?? '';
    const notice: Notice | undefined =
      done === 'approved' && isApprovalId(id)
        ? {
            kind: 'ok',
            text: `Approved ${id}. The agent's call runs now, or on its retry if it was no longer waiting.`,
          }
        : done === 'denied' && isApprovalId(id)
          ? { kind: 'ok', text: `Denied ${id}. The agent is told your reason.` }
          : undefined;
    return approvalsPage(c, notice, 200);
  });

  app.get('/api/approvals', async (c) => {
    const pending = await queue.pending();
    return c.json({ pending: pending.map(({ arguments: _args, ...rest }) => rest) });
  });

  app.get('/approvals/:id', async (c) => {
    const viewer = c.get('viewer');
    const id = c.req.param('id');
    const record = isApprovalId(id) ? await queue.get(id) : undefined;
    const reveal = c.req.query('reveal') === '1';
    if (reveal && !viewer.revealPii) {
      return page(
        c,
        'Approval',
        'approvals',
        html`<h1>Approval</h1><p class="notice error" role="alert">Your account may not reveal personal data. Ask an admin to grant it (<code>airlock console add-admin --reveal-pii</code>).</p>`,
        undefined,
        403,
      );
    }
    if (!record) {
      return page(
        c,
        'Approval',
        'approvals',
        html`<h1>Approval</h1><p class="empty">No approval request with this id.</p><p><a href="/approvals">Back to the queue</a></p>`,
        undefined,
        404,
      );
    }
    const history = await queue.list({ tool: record.tool, limit: DEFAULT_COMPARE_CANDIDATES });
    const view = approvalView(record, history);
    const card = renderApprovalCard(view, { viewer, scanner, now: now(), reveal });
    const body = html`<h1>Approval <code>${record.id}</code></h1>
<p>${statusPill(record)}${record.decidedBy ? html` by <strong>${record.decidedBy}</strong> ${time(record.decidedAt)}` : ''}${record.reason ? html` — “${record.reason}”` : ''}${record.consumedAt ? html`; delivered to the agent ${time(record.consumedAt)}` : ''}</p>
${record.status === 'pending' ? card : html`<div class="panel">${card}</div>`}
<p><a href="/approvals">Back to the queue</a></p>`;
    return page(c, `Approval ${record.id}`, 'approvals', body);
  });

  for (const action of ['approve', 'deny'] as const) {
    app.post(`/approvals/:id/${action}`, async (c) => {
      const viewer = c.get('viewer');
      const wantsJson = (c.req.header('accept') ?? '').includes('application/json');
      if (!maySupervise(viewer)) {
        return respondError(
          c,
          403,
          'AIRLOCK_CONSOLE_FORBIDDEN',
          `Your role (${viewer.role}) may not decide approvals.`,
        );
      }
      const id = c.req.param('id');
      const reason = await formField(c, 'reason');
      try {
        const approver = { name: viewer.name, via: 'console' };
        const decided =
          action === 'approve'
            ? await queue.approve(id, approver, reason)
            : await queue.deny(id, approver, reason ?? '');
        if (wantsJson) return c.json({ ok: true, approval: withoutArguments(decided) });
        return c.redirect(
          `/approvals?done=${action === 'approve' ? 'approved' : 'denied'}&id=${encodeURIComponent(decided.id)}`,
          303,
        );
      } catch (err) {
        if (!(err instanceof ApprovalError)) throw err;
        const status =
          err.code === APPROVAL_ERROR_CODES.selfApproval
            ? 403
            : err.code === APPROVAL_ERROR_CODES.unknown
              ? 404
              : err.code === APPROVAL_ERROR_CODES.decided || err.code === APPROVAL_ERROR_CODES.expired
                ? 409
                : 400;
        if (wantsJson) return c.json({ error: { code: err.code, message: err.message } }, status);
        return approvalsPage(c, { kind: 'error', text: err.message }, status);
      }
    });
  }

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
            if (!sessions.get(sessionId)) {
              finish();
              return;
            }
            const snapshot = await approvalSnapshot(viewer);
            await stream.writeSSE({ event: 'approvals', data: JSON.stringify(snapshot) });
          } while (again && !stream.aborted);
        } catch (err) {
          log.debug({ err }, 'live approvals stream ended');
          finish();
        } finally {
          sending = false;
        }
      };
      const schedule = () => {
        if (timer) return;
        timer = setTimeout(() => {
          timer = undefined;
          void send();
        }, 50);
      };
      const unsubscribe = queue.subscribe(schedule);
      const heartbeat = setInterval(() => {
        stream.write(': keep-alive\n\n').catch(() => finish());
      }, heartbeatMs);
      const onClose = () => finish();
      closing.signal.addEventListener('abort', onClose, { once: true });
      stream.onAbort(() => finish());
      await send();
      await finished;
      unsubscribe();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      closing.signal.removeEventListener('abort', onClose);
    });
  });

  // ------------------------------------------------------------------ audit
  app.get('/audit', async (c) => {
    const q = c.req.query();
    const filters: AuditFilters = {
      ...(q.q ? { q: q.q.slice(0, 200) } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.decision ? { decision: q.decision } : {}),
      ...(q.agent ? { agent: q.agent.slice(0, 200) } : {}),
      ...(q.tool ? { tool: q.tool.slice(0, 200) } : {}),
      ...(q.before && /^\d+$/.test(q.before) ? { before: Number(q.before) } : {}),
    };
    const result = await searchAudit(store.audit, filters);
    const body = renderAuditBody({
      filters,
      result,
      verification: renderVerification(verification, options.auditPublicKeyPem !== undefined),
    });
    return page(c, 'Audit', 'audit', body);
  });

  app.get('/audit/verify', async (c) => {
    if (!options.auditPublicKeyPem) return c.redirect('/audit', 303);
    const report = await verifyAuditTrail({
      entries: storedAuditEntries(store.audit),
      checkpoints: await storedAuditCheckpoints(store.audit),
      publicKey: options.auditPublicKeyPem,
    });
    verification = { report, checkedAt: now(), checkedBy: c.get('viewer').name };
    return c.redirect('/audit', 303);
  });

  app.get('/audit/:seq{[0-9]+}', async (c) => {
    const seq = Number(c.req.param('seq'));
    const row = await store.audit.getAuditEntry(seq);
    return page(c, `Audit entry ${seq}`, 'audit', renderAuditEntryBody(row, seq), undefined, row ? 200 : 404);
  });

  // ------------------------------------------------------------------ catalog
  const catalogAdmin = (actor: string): CatalogAdminType =>
    new CatalogAdmin({
      store: store.catalog,
      actor,
      now,
      ...(options.onCatalogChange ? { onChange: options.onCatalogChange } : {}),
    });

  app.get('/catalog', async (c) => {
    const viewer = c.get('viewer');
    const [entries, status] = await Promise.all([catalogAdmin(viewer.name).listCatalog(), options.status()]);
    const engine = options.policy?.engine;
    const body = renderCatalogBody({
      entries,
      servers: status.upstreams,
      tierOf: engine ? (tool) => engine.tierFor(tool) : undefined,
      viewer,
    });
    return page(c, 'Catalog', 'catalog', body, status.tenantHost);
  });

  app.get('/catalog/tools/:tool', async (c) => {
    const viewer = c.get('viewer');
    const tool = c.req.param('tool');
    const admin = catalogAdmin(viewer.name);
    const diff = await admin.diff(tool).catch((err: unknown) => {
      if (err instanceof AirlockError) return undefined;
      throw err;
    });
    const entry = (await admin.listCatalog()).find((e) => e.tool === tool);
    const events = await admin.events({ tool, limit: 50 });
    const pin = await store.catalog.getToolPin(tool);
    const pinnedDefinition = pin?.approvedDefinition
      ? prettyCanonical(JSON.parse(pin.approvedDefinition))
      : undefined;
    return page(
      c,
      `Tool ${tool}`,
      'catalog',
      renderToolBody({
        tool,
        diff,
        entry,
        events,
        viewer,
        ...(pinnedDefinition ? { pinnedDefinition } : {}),
      }),
      undefined,
      diff || entry ? 200 : 404,
    );
  });

  app.post('/catalog/tools/:tool/:action{disable|enable|approve}', async (c) => {
    const viewer = c.get('viewer');
    if (!isAdmin(viewer))
      return respondError(
        c,
        403,
        'AIRLOCK_CONSOLE_FORBIDDEN',
        `Your role (${viewer.role}) may not change the catalog.`,
      );
    const tool = c.req.param('tool');
    const action = c.req.param('action');
    const admin = catalogAdmin(viewer.name);
    try {
      if (action === 'disable') {
        const reason = (await formField(c, 'reason')) ?? '';
        const record = await admin.disable(tool, reason.slice(0, 500), { by: viewer.name });
        await auditAdmin({
          kind: 'admin',
          action: 'killswitch.enable',
          actor: `console:${viewer.name}`,
          target: tool,
          reason: record.reason,
        });
      } else if (action === 'enable') {
        await admin.enable(tool, { by: viewer.name });
        await auditAdmin({
          kind: 'admin',
          action: 'killswitch.disable',
          actor: `console:${viewer.name}`,
          target: tool,
        });
      } else {
        const hash = await formField(c, 'hash');
        const pin = await admin.approve(tool, { by: viewer.name, ...(hash ? { hash } : {}) });
        await auditAdmin({
          kind: 'admin',
          action: 'tool.reapprove',
          actor: `console:${viewer.name}`,
          target: tool,
          detail: { hash: pin.approvedHash },
        });
      }
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      return respondError(c, 409, err.code, err.message);
    }
    if ((c.req.header('accept') ?? '').includes('application/json')) return c.json({ ok: true });
    return c.redirect(action === 'approve' ? `/catalog/tools/${encodeURIComponent(tool)}` : '/catalog', 303);
  });

  // ------------------------------------------------------------------ identities
  app.get('/identities', async (c) => {
    const done = c.req.query('done');
    const name = c.req.query('name') ?? '';
    const notice: Notice | undefined =
      done === 'revoked' && /^[a-z0-9][a-z0-9._-]{0,62}$/.test(name)
        ? { kind: 'ok', text: `Revoked ${name}: its next request is refused.` }
        : undefined;
    return identitiesPage(c, notice);
  });

  app.post('/identities', async (c) => {
    const viewer = c.get('viewer');
    if (!isAdmin(viewer))
      return respondError(
        c,
        403,
        'AIRLOCK_CONSOLE_FORBIDDEN',
        `Your role (${viewer.role}) may not issue identities.`,
      );
    if (!options.pki || !options.identityOutDir) {
      return identitiesPage(
        c,
        {
          kind: 'error',
          text: 'Issuing from the console is not configured; use "airlock identity issue <name>".',
        },
        400,
      );
    }
    const name = ((await formField(c, 'name')) ?? '').trim();
    const days = Number((await formField(c, 'days')) ?? '90');
    if (!Number.isInteger(days) || days < 1 || days > 825) {
      return identitiesPage(
        c,
        { kind: 'error', text: 'Validity must be a whole number of days between 1 and 825.' },
        400,
      );
    }
    try {
      const issued = await issueAgentIdentity(options.pki, store, name, join(options.identityOutDir, name), {
        validDays: days,
      });
      await auditAdmin({
        kind: 'admin',
        action: 'identity.issue',
        actor: `console:${viewer.name}`,
        target: name,
        detail: { serial: issued.record.certSerial, notAfter: issued.record.notAfter },
      });
      return identitiesPage(c, undefined, 200, {
        name,
        certFile: issued.certFile,
        keyFile: issued.keyFile,
        caFile: issued.caFile,
      });
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      return identitiesPage(c, { kind: 'error', text: err.message }, 400);
    }
  });

  app.post('/identities/:name/revoke', async (c) => {
    const viewer = c.get('viewer');
    if (!isAdmin(viewer))
      return respondError(
        c,
        403,
        'AIRLOCK_CONSOLE_FORBIDDEN',
        `Your role (${viewer.role}) may not revoke identities.`,
      );
    const name = c.req.param('name');
    try {
      if (!(await revokeAgentIdentity(store, name, now()))) {
        return identitiesPage(c, { kind: 'error', text: `No agent identity named ${name}.` }, 404);
      }
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      return identitiesPage(c, { kind: 'error', text: err.message }, 400);
    }
    await auditAdmin({
      kind: 'admin',
      action: 'identity.revoke',
      actor: `console:${viewer.name}`,
      target: name,
    });
    return c.redirect(`/identities?done=revoked&name=${encodeURIComponent(name)}`, 303);
  });

  // ------------------------------------------------------------------ policy
  app.get('/policy', async (c) => {
    const history = await store.policyVersions.listPolicyVersions({ limit: 50 });
    const body = renderPolicyBody({
      current: options.policy?.current,
      currentVersion: options.policy?.version,
      lastRejected: lastPolicyRejection,
      history,
    });
    return page(c, 'Policy', 'policy', body);
  });

  app.get('/policy/versions/:seq{[0-9]+}', async (c) => {
    const seq = Number(c.req.param('seq'));
    const version = await store.policyVersions.getPolicyVersion(seq);
    return page(
      c,
      `Policy version ${seq}`,
      'policy',
      renderPolicyVersionBody(version, seq),
      undefined,
      version ? 200 : 404,
    );
  });

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
    return respondError(
      c as unknown as Ctx,
      500,
      code,
      'Something went wrong while handling this request. The connector log has the details.',
    );
  });

  // ------------------------------------------------------------------ helpers (closures over the options)
  async function currentViewer(c: Ctx): Promise<Viewer | undefined> {
    const sessionId = getCookie(c, SESSION_COOKIE);
    const session = sessions.get(sessionId);
    if (!session || !sessionId) return undefined;
    const account = await store.adminAccounts.getAdminAccount(session.account);
    if (!account || account.disabledAt !== null) {
      sessions.destroy(sessionId);
      return undefined;
    }
    const viewer: Viewer = {
      name: account.name,
      role: account.role,
      revealPii: account.revealPii,
      csrfToken: session.csrfToken,
    };
    c.set('viewer', viewer);
    c.set('account', account);
    c.set('sessionId', sessionId);
    return viewer;
  }

  async function pendingCount(): Promise<number> {
    return (await queue.pending()).length;
  }

  async function page(
    c: Ctx,
    title: string,
    active: NavKey,
    body: Html,
    tenantHost?: string,
    status = 200,
    notice?: Notice,
  ) {
    const viewer = c.get('viewer');
    const host = tenantHost ?? (await Promise.resolve(options.status()).catch(() => undefined))?.tenantHost;
    return c.html(
      renderPage(
        {
          title,
          active,
          viewer,
          pendingCount: await pendingCount(),
          ...(host ? { tenantHost: host } : {}),
          ...(notice ? { notice } : {}),
        },
        body,
      ),
      status as 200,
    );
  }

  async function loginPage(c: Ctx, o: { next: string; name?: string; notice?: Notice; status?: number }) {
    const token = crypto.randomUUID() + crypto.randomUUID();
    setCookie(c, LOGIN_CSRF_COOKIE, token, {
      secure: true,
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: 3600,
    });
    const noAccounts = (await store.adminAccounts.listAdminAccounts()).length === 0;
    const host = (await Promise.resolve(options.status()).catch(() => undefined))?.tenantHost;
    return c.html(
      renderLoginPage({
        csrfToken: token,
        next: o.next,
        noAccounts,
        ...(o.name ? { name: o.name } : {}),
        ...(o.notice ? { notice: o.notice } : {}),
        ...(host ? { tenantHost: host } : {}),
      }),
      (o.status ?? 200) as 200,
    );
  }

  async function approvalCards(viewer: Viewer): Promise<{ records: ApprovalRecord[]; cards: Html[] }> {
    const pending = await queue.pending();
    const byTool = new Map<string, ApprovalRecord[]>();
    for (const tool of new Set(pending.map((p) => p.tool))) {
      byTool.set(tool, await queue.list({ tool, limit: DEFAULT_COMPARE_CANDIDATES }));
    }
    const t = now();
    const cards = pending.map((r) =>
      renderApprovalCard(approvalView(r, byTool.get(r.tool) ?? []), {
        viewer,
        scanner,
        now: t,
        reveal: false,
      }),
    );
    return { records: pending, cards };
  }

  async function recentDecisions(): Promise<ApprovalRecord[]> {
    return queue.list({ status: ['approved', 'denied', 'expired'], limit: 20 });
  }

  async function approvalsPage(c: Ctx, notice: Notice | undefined, status: number) {
    const viewer = c.get('viewer');
    const { cards } = await approvalCards(viewer);
    const body = renderApprovalsBody({
      cards,
      recent: await recentDecisions(),
      now: now(),
      holdSeconds: Math.round(queue.holdMs / 1000),
    });
    return page(c, 'Approvals', 'approvals', body, undefined, status, notice);
  }

  async function approvalSnapshot(viewer: Viewer) {
    const { records, cards } = await approvalCards(viewer);
    const items = await Promise.all(
      records.map(async (r, i) => ({
        id: r.id,
        tool: r.tool,
        identity: r.identity,
        html: String(await cards[i]),
      })),
    );
    const recentHtml = String(await renderRecentRows(await recentDecisions(), now()));
    return { count: records.length, items, recentHtml };
  }

  async function identitiesPage(
    c: Ctx,
    notice: Notice | undefined,
    status = 200,
    issued?: { name: string; certFile: string; keyFile: string; caFile: string },
  ) {
    const viewer = c.get('viewer');
    const body = renderIdentitiesBody({
      identities: await store.identities.listIdentities(),
      policy: options.policy?.current.policy,
      canIssue: Boolean(options.pki && options.identityOutDir),
      viewer,
      now: now(),
      ...(issued ? { issued } : {}),
    });
    return page(c, 'Identities', 'identities', body, undefined, status, notice);
  }

  async function auditAdmin(event: AdminAuditEvent): Promise<void> {
    if (!options.audit) return;
    await options.audit
      .append(event)
      .catch((err: unknown) => log.error({ err, action: event.action }, 'admin action could not be audited'));
  }

  return {
    app,
    fetch: app.fetch,
    sessions,
    approvals: queue,
    async close() {
      closing.abort();
      if (activity && options.activity === undefined) activity.stop();
      options.policy?.off('error', onPolicyError);
      options.policy?.off('change', onPolicyChange);
      await ownQueue?.close();
    },
  };
}

/** The host name of a Host header value, lower case, IPv6 in brackets, without port. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(0, end + 1) : undefined;
  }
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

/** A local path to go to after sign-in (never another origin). */
function safeNext(next: string | undefined): string {
  if (next === undefined || next.length > 500) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

function isApprovalId(id: string): boolean {
  return /^apr_[0-9a-f]{24}$/.test(id);
}

/** A record for JSON answers: arguments stay on the console's pages (they may carry personal data). */
function withoutArguments(r: ApprovalRecord): Omit<ApprovalRecord, 'arguments'> {
  const { arguments: _args, ...rest } = r;
  return rest;
}

async function formField(c: Ctx, name: string): Promise<string | undefined> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
    return typeof body[name] === 'string' ? body[name] : undefined;
  }
  const form = await c.req.parseBody();
  const value = form[name];
  return typeof value === 'string' ? value : undefined;
}

function respondError(c: Ctx, status: number, code: string, message: string) {
  const accept = c.req.header('accept') ?? '';
  if (
    accept.includes('application/json') ||
    c.req.path.startsWith('/api/') ||
    !accept.includes('text/html')
  ) {
    return c.json({ error: { code, message } }, status as 400);
  }
  return c.html(
    renderPage(
      { title: 'Refused' },
      html`<h1>Refused</h1><p class="notice error" role="alert">${message}</p><p><a href="/">Go to the overview</a></p>`,
    ),
    status as 400,
  );
}
