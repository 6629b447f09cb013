/**
 * One audit entry as a person reads it: its fields as a definition list (when, who, end user, what,
 * the decision with its code and reason, latency), the stages' verdicts as a table, the redacted
 * arguments (and result) as key/value tables, and the raw JSON behind a `<details>`.
 *
 * @example
 * renderAuditEntryBody(await store.audit.getAuditEntry(42), 42)
 */
import { html } from 'hono/html';
import type { AuditEntryRow } from '../store/store.js';
import { outcomePill } from './audit-page.js';
import { empty, type Html, time } from './console-layout.js';
import { renderValueTable } from './value-table.js';

type Entry = Record<string, unknown>;

/** See the module comment. */
export function renderAuditEntryBody(row: AuditEntryRow | undefined, seq: number): Html {
  const back = html`<p><a href="/audit">Back to the audit trail</a></p>`;
  if (!row)
    return html`<h1>Audit entry ${seq}</h1>${empty('No entry with this number (it may have been pruned by retention).')}${back}`;
  let entry: Entry | undefined;
  let pretty = row.entry;
  try {
    entry = JSON.parse(row.entry) as Entry;
    pretty = JSON.stringify(entry, null, 2);
  } catch {
    entry = undefined;
  }
  const raw = html`<details class="raw"><summary>Raw entry (JSON)</summary><pre>${pretty}</pre></details>`;
  if (!entry)
    return html`<h1>Audit entry ${row.seq}</h1><p>${time(row.time)}</p>${empty('This entry could not be read as JSON.')}${raw}${back}`;
  return html`<h1>Audit entry ${row.seq}</h1>
<dl class="fields">${fieldRows(entry, row)}</dl>
${renderStages(entry.stages)}
${payload(entry.arguments, 'Arguments (redacted)')}
${payload(entry.result, 'Result (redacted)')}
${entry.detail && typeof entry.detail === 'object' ? html`<h2>Detail</h2>${renderValueTable(entry.detail, { label: 'Detail', scanner: undefined, reveal: true }).table}` : ''}
${raw}${back}`;
}

function fieldRows(e: Entry, row: AuditEntryRow): Html[] {
  const str = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));
  const agent = e.agent && typeof e.agent === 'object' ? (e.agent as Entry) : undefined;
  const err = e.error && typeof e.error === 'object' ? (e.error as Entry) : undefined;
  const fields: Array<[string, Html | string]> = [
    ['When', time(row.time)],
    ['Kind', str(e.kind)],
    ['Agent', agent ? html`${str(agent.name)} <span class="muted mono">${str(agent.spiffeId)}</span>` : ''],
    ['Authenticated by', agent ? str(agent.authenticatedBy) : ''],
    ['End user', str(e.endUser)],
    ['Actor', str(e.actor)],
    ['Action', str(e.action)],
    ['Target', str(e.target)],
    ['Method', e.method ? html`<code>${str(e.method)}</code>` : ''],
    ['Tool', e.tool ? html`<code>${str(e.tool)}</code>` : ''],
    ['Decision', e.decision ? outcomePill(str(e.decision)) : ''],
    ['Code', e.code ? html`<code>${str(e.code)}</code>` : ''],
    ['Reason', str(e.reason)],
    [
      'Error',
      err && str(err.message) !== str(e.reason)
        ? html`<code>${str(err.airlock)}</code> ${str(err.message)}`
        : '',
    ],
    ['Upstream latency', typeof e.upstreamLatencyMs === 'number' ? `${e.upstreamLatencyMs} ms` : ''],
    ['Duration', typeof e.durationMs === 'number' ? `${e.durationMs} ms` : ''],
    ['Session', str(e.session)],
    ['Entry hash', html`<code class="hash">${row.hash}</code>`],
  ];
  return fields.filter(([, v]) => v !== '').map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`);
}

function renderStages(stages: unknown): Html | string {
  if (!Array.isArray(stages) || stages.length === 0) return '';
  const rows = stages.map((s: Entry) => {
    const rest = Object.entries(s).filter(([k]) => !['stage', 'outcome', 'code'].includes(k));
    return html`<tr><td>${String(s.stage ?? '')}</td><td>${outcomePill(String(s.outcome ?? ''))}</td><td>${s.code ? html`<code>${String(s.code)}</code>` : ''}</td><td>${rest.map(([k, v]) => html`<div><span class="muted">${k}:</span> ${typeof v === 'string' ? v : JSON.stringify(v)}</div>`)}</td></tr>`;
  });
  return html`<h2>Stages</h2><table aria-label="Stage decisions"><thead><tr><th scope="col">Stage</th><th scope="col">Outcome</th><th scope="col">Code</th><th scope="col">Detail</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function payload(p: unknown, title: string): Html | string {
  if (!p || typeof p !== 'object' || !('redacted' in p)) return '';
  const { table } = renderValueTable((p as { redacted: unknown }).redacted, {
    label: title,
    scanner: undefined,
    reveal: true,
  });
  return html`<h2>${title}</h2>${table}`;
}
