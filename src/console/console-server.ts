/**
 * Serves a console app over HTTP with `@hono/node-server` and closes it cleanly (live streams are
 * ended first, then the listener, then idle keep-alive connections).
 *
 * @example
 * const server = await serveConsole(consoleApp, { host: '127.0.0.1', port: 7070 });
 * console.log(server.url); // http://127.0.0.1:7070
 * await server.close();
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type ConsoleApp, type ConsoleAppOptions, createConsoleApp } from './console-app.js';
import { consoleAllowedHosts, hostAllowed } from './console-guards.js';

export interface ConsoleServer {
  /** `http://<host>:<port>` (IPv6 hosts in brackets). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Answers the admin listener's operational paths (`/healthz`, `/readyz`, `/metrics`) before the console
 * sees the request; `undefined` hands the request to the console.
 */
export type AdminRoutes = (req: Request) => Promise<Response> | undefined;

export async function serveConsole(
  consoleApp: Pick<ConsoleApp, 'fetch' | 'close'>,
  opts: { host: string; port: number; adminRoutes?: AdminRoutes },
): Promise<ConsoleServer> {
  const admin = opts.adminRoutes;
  const fetch = admin ? (req: Request) => admin(req) ?? consoleApp.fetch(req) : consoleApp.fetch;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch, hostname: opts.host, port: opts.port }, () => resolve(s as Server));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closed ??= (async () => {
        await consoleApp.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 1_000).unref();
        });
      })();
      return closed;
    },
  };
}

/**
 * Creates the console app and serves it: what the connector does on its admin address.
 *
 * @example
 * const consoleServer = await startConsole({ store, approvals: queue, status, host: '127.0.0.1', port: 7070 });
 * // consoleServer.url, consoleServer.app.sessions ...
 * await consoleServer.close();
 */
export async function startConsole(
  options: ConsoleAppOptions & { host: string; port: number; adminRoutes?: AdminRoutes },
): Promise<ConsoleServer & { app: ConsoleApp }> {
  const { host, port, adminRoutes: routes, ...appOptions } = options;
  const app = createConsoleApp(appOptions);
  // The health and metrics routes answer only to the console's own Host names (DNS rebinding), like
  // the console itself; a foreign Host falls through to the console, which refuses it.
  const allowed = consoleAllowedHosts(options.allowedHosts);
  const adminRoutes: AdminRoutes | undefined = routes
    ? (req) => (hostAllowed(allowed, req.headers.get('host')) ? routes(req) : undefined)
    : undefined;
  try {
    const server = await serveConsole(app, { host, port, ...(adminRoutes ? { adminRoutes } : {}) });
    return { url: server.url, port: server.port, close: () => server.close(), app };
  } catch (err) {
    await app.close();
    throw err;
  }
}
