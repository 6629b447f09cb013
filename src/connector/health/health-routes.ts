/**
 * `/healthz`, `/readyz` and `/metrics` on the connector's admin port (next to the console, before its
 * login): `/healthz` answers 200 while the process serves HTTP; `/readyz` answers 200 when the connector
 * can serve agents and 503 otherwise, with the {@link ReadinessReport} as JSON either way; `/metrics` is
 * the Prometheus text format. GET and HEAD only; nothing here changes state or shows a secret.
 *
 * @example
 * const health = healthRoutes({ source, metrics });
 * serve({ fetch: (req) => health(req) ?? consoleApp.fetch(req) });
 */
import type { ConnectorMetrics } from './connector-metrics.js';
import { type HealthSource, type ReadinessOptions, readinessReport } from './connector-readiness.js';

export const HEALTH_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

export interface HealthRoutesOptions extends ReadinessOptions {
  source: HealthSource;
  metrics?: ConnectorMetrics;
}

/** A handler for the admin listener: a `Response` for the three paths, `undefined` for anything else. */
export type HealthHandler = (req: Request) => Promise<Response> | undefined;

const NO_STORE = { 'cache-control': 'no-store' };

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...NO_STORE },
  });
}

/** See the module comment. */
export function healthRoutes(opts: HealthRoutesOptions): HealthHandler {
  return (req) => {
    const path = new URL(req.url).pathname;
    if (!(HEALTH_PATHS as readonly string[]).includes(path)) return undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return Promise.resolve(new Response(null, { status: 405, headers: { allow: 'GET, HEAD' } }));
    }
    return (async () => {
      if (path === '/healthz') return json({ ok: true }, 200);
      if (path === '/readyz') {
        const report = await readinessReport(opts.source, opts);
        return json(report, report.ready ? 200 : 503);
      }
      if (!opts.metrics) return new Response('no metrics\n', { status: 404 });
      const text = await opts.metrics.registry.metrics();
      return new Response(text, {
        status: 200,
        headers: { 'content-type': opts.metrics.registry.contentType, ...NO_STORE },
      });
    })();
  };
}
