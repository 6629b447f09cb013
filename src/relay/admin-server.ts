/**
 * The relay's admin listener (loopback by default): `GET /metrics` (Prometheus text from the
 * relay's own Registry), `GET /healthz` (alive), `GET /readyz` (takes new connections: 503 once the
 * node drains, for the load balancer's health check), `POST /drain` (starts a drain, 202) and
 * `GET /status` (JSON: this node, the cluster's nodes, tunnels). Never on the public port, never
 * payload data.
 *
 * DNS-rebinding defence: a request is served only when its `Host` is a loopback name (`localhost`,
 * `*.localhost`, `127.0.0.0/8`, `[::1]`), an IP literal (a rebinding page always sends its own DNS
 * name) or one of `hostnames`; a present `Origin` must name one too. Anything else gets 403
 * `AIRLOCK_RELAY_HOST_NOT_ALLOWED`. Slow clients are cut by header and request timeouts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { hostCheck } from './host-header-check.js';

/** Default time to receive the request headers on the admin listener. */
export const DEFAULT_ADMIN_HEADERS_TIMEOUT_MS = 5_000;
/** Default time to receive a whole request on the admin listener. */
export const DEFAULT_ADMIN_REQUEST_TIMEOUT_MS = 10_000;
/** How often Node checks the admin listener's header and request timeouts (Node's own default is 30 s). */
export const DEFAULT_ADMIN_CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  registry: Registry;
  healthy: () => boolean;
  /** False once the node drains or closes (`/readyz` → 503). Default: `healthy`. */
  ready?: () => boolean;
  /** `POST /drain` starts a drain (answered 202 at once); absent → 404. */
  onDrain?: () => void;
  /** `GET /status` body; absent → 404. */
  status?: () => Promise<unknown>;
  /**
   * Further `Host` names served besides loopback names and IP literals, e.g. the name a Prometheus
   * server scrapes the relay by (`['relay-1.internal']`). Default none.
   */
  hostnames?: readonly string[];
  /** Default {@link DEFAULT_ADMIN_HEADERS_TIMEOUT_MS}. */
  headersTimeoutMs?: number;
  /** Default {@link DEFAULT_ADMIN_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
}

/**
 * Starts the admin HTTP server.
 *
 * @example
 * const admin = await startAdminServer({ host: '127.0.0.1', port: 9090, registry, healthy: () => true });
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const refusalOf = hostCheck({ hostnames: options.hostnames ?? [], loopback: true, ipLiterals: true });
  const server = http.createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? DEFAULT_ADMIN_HEADERS_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_ADMIN_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: DEFAULT_ADMIN_CONNECTIONS_CHECKING_INTERVAL_MS,
    },
    (req, res) => {
      const refusal = refusalOf(req);
      if (refusal !== undefined) {
        const body = JSON.stringify({ error: { code: 'AIRLOCK_RELAY_HOST_NOT_ALLOWED', message: refusal } });
        res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
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
      if (handleLifecycle(options, req.method ?? '', path ?? '', res)) return;
      if (req.method === 'GET' && path === '/healthz') {
        const ok = options.healthy();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'closing' }));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    },
  );
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

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** `/readyz`, `POST /drain`, `GET /status`; true when the request was one of them. */
function handleLifecycle(
  options: AdminServerOptions,
  method: string,
  path: string,
  res: http.ServerResponse,
): boolean {
  if (method === 'GET' && path === '/readyz') {
    const ok = (options.ready ?? options.healthy)();
    json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'draining' });
    return true;
  }
  if (method === 'POST' && path === '/drain' && options.onDrain) {
    options.onDrain();
    json(res, 202, { status: 'draining' });
    return true;
  }
  if (method === 'GET' && path === '/status' && options.status) {
    options.status().then(
      (body) => json(res, 200, body),
      (err: unknown) => json(res, 500, { error: { message: (err as Error).message } }),
    );
    return true;
  }
  return false;
}
