/**
 * `report.html`: one self-contained page (inline CSS, inline SVG, no script, no external URL) that
 * answers the five questions with the report's evidence. Rendering is a pure function of the report
 * and its digest, with every value HTML-escaped by `hono/html`.
 *
 * @example
 * const page = renderReportHtml(report, reportDigest(report));
 */
import { html, raw } from 'hono/html';
import { REPORT_CSS } from './report-css.js';
import type { ReportDocument } from './report-model.js';
import {
  activitySection,
  auditSection,
  discoverySection,
  governanceSection,
  identitySection,
  isolationSection,
  keysSection,
  pathSection,
} from './report-sections.js';
import { answersOf, type Html, when } from './report-view.js';

function scopeText(r: ReportDocument): string {
  const s = r.scope;
  const parts = [
    s.since !== undefined ? `since ${when(s.since)}` : 'from the first entry',
    s.until !== undefined ? `until ${when(s.until)}` : `until ${when(r.generatedAt)}`,
  ];
  if (s.agent) parts.push(`agent ${s.agent}`);
  if (s.upstream) parts.push(`upstream ${s.upstream}`);
  return parts.join(', ');
}

function answersBlock(r: ReportDocument): Html {
  return html`<section aria-labelledby="answers"><h2 id="answers">The five questions</h2><div class="answers">${answersOf(
    r,
  ).map(
    (a) =>
      html`<div class="answer"><a href="#${a.anchor}">${a.question}</a> <span class="pill ${a.ok ? 'ok' : 'bad'}">${a.ok ? 'evidence holds' : 'see below'}</span><p>${a.answer}</p></div>`,
  )}</div></section>`;
}

/**
 * The full page. `digest` is the SHA-256 of the report's canonical JSON (see report-signing.ts); it
 * is embedded so that the page names the `report.json` it was made from.
 */
export function renderReportHtml(
  report: ReportDocument,
  digest: string,
  opts: { stylesheetHref?: string } = {},
): string {
  // A page served under a strict Content-Security-Policy (the console) links the same CSS instead.
  const style = opts.stylesheetHref
    ? html`<link rel="stylesheet" href="${opts.stylesheetHref}">`
    : html`<style>${raw(REPORT_CSS)}</style>`;
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="airlock-report-digest" content="${digest}">
<title>Airlock security report — ${report.installation.tenant}</title>
${style}</head>
<body><header class="top"><h1>Airlock security report — tenant ${report.installation.tenant}</h1>
<p>${report.dataPath.tenantHost ?? ''} · generated ${when(report.generatedAt)} · ${scopeText(report)} · store ${report.installation.store}</p></header>
<main>
${answersBlock(report)}
${pathSection(report)}
${keysSection(report)}
${identitySection(report)}
${auditSection(report)}
${isolationSection(report)}
${governanceSection(report)}
${activitySection(report)}
${discoverySection(report)}
<footer><p>Signed with the connector's audit key; check it with <code>airlock report verify &lt;dir&gt; --config ${report.installation.configFile}</code>. Report digest (SHA-256 of report.json's canonical <code>report</code>): <code>${digest}</code>.</p>
<p>Reproduce the whole report: <code>airlock report --config ${report.installation.configFile} --out &lt;dir&gt;</code></p></footer>
</main></body></html>
`;
  return String(page);
}
