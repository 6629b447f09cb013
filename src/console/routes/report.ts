/**
 * The console's report page (`/report`), for admins and auditors: the security report generated
 * from the running connector (the same one `airlock report` writes), with the period and filters as
 * query parameters, and its signed files to download as a matching pair. Supervisors get 403.
 *
 * The page links its stylesheet (`/report/report.css`) because the console's Content-Security-Policy
 * forbids inline styles; the downloadable `report.html` is the self-contained, signed one.
 *
 * @example
 * app.route('/report', reportRoutes({ source: consoleReportSource({ ctx, store, tenant }) }));
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { REPORT_CSS } from '../../report/report-css.js';
import { renderReportHtml } from '../../report/report-html.js';
import { parseReportScope, ReportError } from '../../report/report-model.js';
import type { ReportSource } from '../../report/report-source.js';
import type { Viewer } from '../console-layout.js';

/** Generated reports kept for download (oldest dropped first). */
export const DEFAULT_CONSOLE_REPORTS_KEPT = 8;

/** Console roles that may open the report. */
export const REPORT_ROLES: ReadonlySet<string> = new Set(['admin', 'auditor']);

export interface ReportRoutesOptions {
  source: ReportSource;
  /** Default {@link DEFAULT_CONSOLE_REPORTS_KEPT}. */
  keep?: number;
}

type Env = { Variables: { viewer: Viewer } };

/** The sub-app; mount it after the console's sign-in check (it reads the `viewer`). */
export function reportRoutes(options: ReportRoutesOptions): Hono<Env> {
  const keep = options.keep ?? DEFAULT_CONSOLE_REPORTS_KEPT;
  const files = new Map<string, { json: string; html: string }>();
  let queue: Promise<void> = Promise.resolve();
  const app = new Hono<Env>();

  app.use('*', async (c, next) => {
    const viewer = c.get('viewer');
    if (!viewer || !REPORT_ROLES.has(viewer.role)) {
      return c.text(`Your role (${viewer?.role ?? 'none'}) may not open the security report.`, 403);
    }
    await next();
  });

  app.get('/report.css', (c) => c.body(REPORT_CSS, 200, { 'content-type': 'text/css; charset=utf-8' }));

  app.get('/', async (c) => {
    let scope: ReturnType<typeof parseReportScope>;
    try {
      scope = parseReportScope({
        since: c.req.query('since') || undefined,
        until: c.req.query('until') || undefined,
        agent: c.req.query('agent') || undefined,
        upstream: c.req.query('upstream') || undefined,
      });
    } catch (err) {
      if (err instanceof ReportError) return c.text(err.message, 400);
      throw err;
    }
    // One report at a time: each runs TLS probes and `airlock audit verify` in a child process.
    const run = queue.then(() => options.source.generate(scope));
    queue = run.then(
      () => undefined,
      () => undefined,
    );
    const generated = await run;
    const id = randomBytes(12).toString('base64url');
    files.set(id, { json: generated.json, html: generated.html });
    while (files.size > keep) files.delete(files.keys().next().value as string);
    const page = renderReportHtml(generated.report, generated.digest, {
      stylesheetHref: '/report/report.css',
    });
    const downloads = `<p class="cmd">Signed copy: <a href="/report/files/${id}/report.json" download>report.json</a> · <a href="/report/files/${id}/report.html" download>report.html</a> — check with <code>airlock report verify &lt;dir&gt;</code></p>`;
    return c.html(page.replace('<main>', `<main><p class="cmd"><a href="/">← Console</a></p>${downloads}`));
  });

  app.get('/files/:id/:name{report\\.json|report\\.html}', (c) => {
    const entry = files.get(c.req.param('id'));
    if (!entry) return c.text('This report is no longer kept; open /report again.', 404);
    const name = c.req.param('name');
    const json = name === 'report.json';
    return c.body(json ? entry.json : entry.html, 200, {
      'content-type': json ? 'application/json' : 'text/html; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
    });
  });

  return app;
}
