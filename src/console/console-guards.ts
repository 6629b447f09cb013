/**
 * The console's request guards, in the order a request meets them: security headers (CSP without
 * inline code, no framing), the Host check against DNS rebinding (421), the Origin check on every
 * non-GET (403), the body limit (413), `no-store` caching, and — after the public routes — the
 * session and CSRF check. See src/console/console-app.ts for the whole picture.
 *
 * @example
 * app.use('*', consoleSecureHeaders(), hostGuard(hosts), originGuard(origins, log));
 */
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { Logger } from 'pino';
import type { ConsoleEnv, Ctx } from './console-env.js';
import type { Viewer } from './console-layout.js';
import { DEFAULT_CONSOLE_HOSTS } from './console-options.js';
import { respondError } from './console-responses.js';
import { sameToken } from './console-sessions.js';

/** CSP and the other security headers: no inline script or style, nothing from other origins. */
export function consoleSecureHeaders(): MiddlewareHandler<ConsoleEnv> {
  return secureHeaders({
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
  });
}

/** The Host names the console answers to: loopback names plus `allowedHosts`, lower case. */
export function consoleAllowedHosts(allowedHosts: readonly string[] = []): Set<string> {
  return new Set([...DEFAULT_CONSOLE_HOSTS, ...allowedHosts].map((h) => h.toLowerCase()));
}

/** True when `header` (a Host value) names one of `allowed`, with or without port. */
export function hostAllowed(allowed: ReadonlySet<string>, header: string | null | undefined): boolean {
  const raw = (header ?? '').toLowerCase();
  const host = hostName(raw);
  return host !== undefined && (allowed.has(host) || allowed.has(raw));
}

/** DNS rebinding: only the names (with or without port) the console is meant to be reached by. */
export function hostGuard(allowed: ReadonlySet<string>): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    if (!hostAllowed(allowed, c.req.header('host'))) {
      return c.text('This console only answers to its configured host names.', 421);
    }
    await next();
  };
}

/** Cross-origin writes: every non-GET must come from this origin (or a trusted one). */
export function originGuard(trusted: ReadonlySet<string>, log: Logger): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('origin')?.toLowerCase();
      const own = new URL(c.req.url).origin.toLowerCase();
      if (!origin || (origin !== own && !trusted.has(origin))) {
        log.warn({ origin: origin ?? null, path: c.req.path }, 'cross-origin request refused');
        return c.text('Refused: this request did not come from the console itself (Origin check).', 403);
      }
    }
    await next();
  };
}

/** `no-store` unless a route chose its own caching. */
export function noStore(): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    await next();
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  };
}

/**
 * Everything after it needs a session: pages redirect to `/login?next=…`, APIs answer 401; every
 * state-changing request must carry the session's CSRF token (`X-CSRF-Token` or the `_csrf` field).
 */
export function requireViewer(
  currentViewer: (c: Ctx) => Promise<Viewer | undefined>,
  log: Logger,
): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const viewer = await currentViewer(c);
    if (!viewer) {
      const path = c.req.path;
      if (c.req.method === 'GET' && !path.startsWith('/api/') && !path.startsWith('/events/')) {
        const search = new URL(c.req.url).search || '';
        return c.redirect(`/login?next=${encodeURIComponent(path + search)}`, 303);
      }
      const error = { code: 'AIRLOCK_CONSOLE_LOGIN_REQUIRED', message: 'Sign in to the console first.' };
      return c.json({ error }, 401);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      if (!sameToken(await csrfTokenOf(c), viewer.csrfToken)) {
        log.warn({ account: viewer.name, path: c.req.path }, 'request without a valid CSRF token refused');
        const message =
          'Refused: the request did not carry this session’s CSRF token. Reload the page and try again.';
        return respondError(c, 403, 'AIRLOCK_CONSOLE_CSRF', message);
      }
    }
    await next();
  };
}

async function csrfTokenOf(c: Ctx): Promise<string | undefined> {
  const header = c.req.header('x-csrf-token');
  if (header !== undefined) return header;
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
    const form = await c.req.parseBody();
    return typeof form._csrf === 'string' ? form._csrf : undefined;
  }
  return undefined;
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
