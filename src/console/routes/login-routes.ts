/**
 * The console's sign-in routes (`GET /login`, `POST /login`), mounted before the session check.
 * Sign-in attempts pass the {@link LoginThrottle} (exponential delays per source and per account, no
 * lock-out); a browser that signed in to the account before is throttled under its device id instead
 * of its address (login-device.ts); the form uses a double-submit CSRF cookie; unknown accounts cost
 * the same scrypt verification as known ones.
 *
 * @example
 * app.route('/', loginRoutes({ store, sessions, throttle, log, currentViewer, tenantHost }));
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Logger } from 'pino';
import { sourceKey, UNKNOWN_SOURCE } from '../../net/source-key.js';
import type { Store } from '../../store/store.js';
import type { ConsoleEnv, Ctx } from '../console-env.js';
import type { Notice, Viewer } from '../console-layout.js';
import { type ConsoleSessions, LOGIN_CSRF_COOKIE, SESSION_COOKIE, sameToken } from '../console-sessions.js';
import { DEFAULT_LOGIN_DEVICE_MAX_AGE_S, DEVICE_COOKIE, LoginDevices } from '../login-device.js';
import { renderLoginPage } from '../login-page.js';
import type { LoginThrottle } from '../login-throttle.js';
import { hashPassword, verifyPassword } from '../password-hash.js';

/** Longest password the console verifies (longer ones are refused without hashing). */
export const MAX_CONSOLE_PASSWORD_LENGTH = 1024;

export interface LoginRoutesDeps {
  store: Store;
  sessions: ConsoleSessions;
  throttle: LoginThrottle;
  log: Logger;
  /** The signed-in viewer of this request, if any. */
  currentViewer(c: Ctx): Promise<Viewer | undefined>;
  /** The tenant host name shown in the page header. */
  tenantHost(): Promise<string | undefined>;
  /** Text of the IdP sign-in button, when `console.oidc` is configured. */
  oidcLabel?: string;
}

interface LoginPageState {
  next: string;
  name?: string;
  notice?: Notice;
  status?: number;
}

/** The sign-in sub-app. */
export function loginRoutes(deps: LoginRoutesDeps): Hono<ConsoleEnv> {
  const { store, sessions, throttle, log } = deps;
  const app = new Hono<ConsoleEnv>();
  const devices = new LoginDevices();
  // A verification of a dummy hash for unknown accounts keeps sign-in timing uniform.
  const dummyHash = hashPassword('airlock-console-timing-equaliser');

  const loginPage = (c: Ctx, o: LoginPageState) => renderLogin(deps, c, o);

  app.get('/login', async (c) => {
    if (await deps.currentViewer(c)) return c.redirect(safeNext(c.req.query('next')), 303);
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
      const text = 'The sign-in form expired or was not sent by this console. Please sign in again.';
      return loginPage(c, { next, name, status: 403, notice: { kind: 'error', text } });
    }
    const device = devices.deviceOf(getCookie(c, DEVICE_COOKIE), name);
    const source = device ? `device:${device}` : clientSource(c);
    const gate = throttle.check(name, source);
    if (!gate.allowed) {
      const seconds = Math.max(1, Math.ceil(gate.retryAfterMs / 1000));
      log.warn({ account: name, source, retryAfterSeconds: seconds }, 'console sign-in throttled');
      c.header('retry-after', String(seconds));
      const text = `Too many failed sign-ins. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
      return loginPage(c, { next, name, status: 429, notice: { kind: 'error', text } });
    }
    const account =
      name && password.length <= MAX_CONSOLE_PASSWORD_LENGTH
        ? await store.adminAccounts.getAdminAccount(name)
        : undefined;
    let ok = false;
    if (account) ok = account.disabledAt === null && (await verifyPassword(password, account.passwordHash));
    else await verifyPassword(password, await dummyHash);
    if (!account || !ok) {
      throttle.failure(name, source);
      log.warn({ account: name, source }, 'console sign-in failed');
      const notice: Notice = { kind: 'error', text: 'Wrong account name or password.' };
      return loginPage(c, { next, name, status: 401, notice });
    }
    throttle.success(name, source);
    setCookie(c, DEVICE_COOKIE, devices.issue(account.name), {
      secure: true,
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: DEFAULT_LOGIN_DEVICE_MAX_AGE_S,
    });
    const { id } = sessions.create(account.name);
    setCookie(c, SESSION_COOKIE, id, { secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
    deleteCookie(c, LOGIN_CSRF_COOKIE, { secure: true, path: '/' });
    log.info({ account: account.name, source }, 'console sign-in');
    return c.redirect(next, 303);
  });

  return app;
}

/** The sign-in form with a fresh double-submit CSRF token. */
async function renderLogin(deps: LoginRoutesDeps, c: Ctx, o: LoginPageState) {
  const { store } = deps;
  const token = crypto.randomUUID() + crypto.randomUUID();
  setCookie(c, LOGIN_CSRF_COOKIE, token, {
    secure: true,
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: 3600,
  });
  const noAccounts = (await store.adminAccounts.listAdminAccounts()).length === 0;
  const host = await deps.tenantHost().catch(() => undefined);
  return c.html(
    renderLoginPage({
      csrfToken: token,
      next: o.next,
      noAccounts,
      ...(o.name ? { name: o.name } : {}),
      ...(o.notice ? { notice: o.notice } : {}),
      ...(host ? { tenantHost: host } : {}),
      ...(deps.oidcLabel
        ? { oidc: { label: deps.oidcLabel, href: `/login/oidc?next=${encodeURIComponent(o.next)}` } }
        : {}),
    }),
    (o.status ?? 200) as 200,
  );
}

/** The source a request is throttled under: its IPv4 address or IPv6 /64 (`unknown` without a socket). */
export function clientSource(c: Ctx): string {
  try {
    return sourceKey(getConnInfo(c).remote.address);
  } catch {
    return UNKNOWN_SOURCE;
  }
}

/** A local path to go to after sign-in (never another origin). */
export function safeNext(next: string | undefined): string {
  if (next === undefined || next.length > 500) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}
