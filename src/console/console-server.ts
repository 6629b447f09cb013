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

export interface ConsoleServer {
  /** `http://<host>:<port>` (IPv6 hosts in brackets). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function serveConsole(
  consoleApp: Pick<ConsoleApp, 'fetch' | 'close'>,
  opts: { host: string; port: number },
): Promise<ConsoleServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: consoleApp.fetch, hostname: opts.host, port: opts.port }, () =>
      resolve(s as Server),
    );
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
  options: ConsoleAppOptions & { host: string; port: number },
): Promise<ConsoleServer & { app: ConsoleApp }> {
  const { host, port, ...appOptions } = options;
  const app = createConsoleApp(appOptions);
  try {
    const server = await serveConsole(app, { host, port });
    return { url: server.url, port: server.port, close: () => server.close(), app };
  } catch (err) {
    await app.close();
    throw err;
  }
}
