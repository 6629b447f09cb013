/**
 * The connector's first admin surface: an unauthenticated, read-only status page. Superseded by the
 * console (`createConsoleApp` in console-app.ts: login, approvals, audit, catalog, identities, policy);
 * kept until the connector is wired to it. `ConnectorStatus` stays the status shape both use.
 *
 * @example
 * const app = createAdminApp({ status: () => connector.status() });
 * const res = await app.request('/api/status');
 */
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { renderStatusPage } from './status-page.js';

export interface AdminAppOptions {
  /** A snapshot of the connector's state: tunnels, upstreams, identities. Must not contain secrets. */
  status: () => Promise<ConnectorStatus> | ConnectorStatus;
}

export interface ConnectorStatus {
  tenant: string;
  tenantHost: string;
  tunnels: Array<{ slot: number; state: string; transport: string; since?: number; lastError?: string }>;
  upstreams: Array<{ name: string; state: string; restarts: number; lastError?: string }>;
  [key: string]: unknown;
}

/** @deprecated Use `createConsoleApp` / `startConsole` (console-app.ts, console-server.ts). */
export function createAdminApp(opts: AdminAppOptions): Hono {
  const app = new Hono();
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
    }),
  );
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/api/status', async (c) => c.json(await opts.status()));
  app.get('/', async (c) => c.html(renderStatusPage(await opts.status())));
  app.get('/console.css', (c) =>
    c.body(CONSOLE_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  return app;
}

const CONSOLE_CSS = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#14213d;color:#fff;padding:.8rem 1.5rem}header h1{margin:0;font-size:1.2rem}
main{max-width:70rem;margin:1.5rem auto;padding:0 1.5rem}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1.5rem}
th,td{text-align:left;padding:.45rem .7rem;border-bottom:1px solid #e3e6ea}
th{background:#eef1f5;font-weight:600}
.state-up,.state-ready{color:#11703a;font-weight:600}.state-down,.state-failed{color:#b42318;font-weight:600}
.empty{color:#5b6472;font-style:italic}
`;
