/**
 * The relay's admin listener (loopback by default): `GET /metrics` (Prometheus text from the
 * relay's own Registry) and `GET /healthz`. Never on the public port, never payload data.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the admin HTTP server.
 *
 * @example
 * const admin = await startAdminServer({ host: '127.0.0.1', port: 9090, registry, healthy: () => true });
 */
export async function startAdminServer(options: {
  host: string;
  port: number;
  registry: Registry;
  healthy: () => boolean;
}): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(text);
        })
        .catch(() => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('metrics failed\n');
        });
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      const ok = options.healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'closing' }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
