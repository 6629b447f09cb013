/**
 * The Approvals page: the live queue of pending requests (each with agent, tool, tier, arguments —
 * values that look like personal data masked unless the viewer may reveal them — and a comparison
 * with the most similar earlier call of the same tool), approve / deny forms, and recent decisions.
 */
import { html, raw } from 'hono/html';
import type { PiiScanner } from '../pii/pii-scanner.js';
import type { ApprovalRecord } from '../store/store.js';
import {
  type ArgumentDiffRow,
  diffArguments,
  type FlatArguments,
  flattenArguments,
  mostSimilar,
} from './args-diff.js';
import {
  csrfField,
  empty,
  type Html,
  maySupervise,
  pill,
  relative,
  time,
  type Viewer,
} from './console-layout.js';
import { displayLeaf } from './pii-mask.js';

/** Earlier calls of the same tool considered for the comparison. */
export const DEFAULT_COMPARE_CANDIDATES = 50;

/** One pending request with what the page shows about it. */
export interface ApprovalView {
  record: ApprovalRecord;
  flat: FlatArguments;
  compared: { record: ApprovalRecord; rows: ArgumentDiffRow[]; similarity: number } | undefined;
}

/** Builds the view of `record`, comparing it with the most similar of `history` (same tool, newest first). */
export function approvalView(record: ApprovalRecord, history: readonly ApprovalRecord[]): ApprovalView {
  const flat = flattenArguments(parseArguments(record.arguments));
  const earlier = history.filter(
    (h) => h.id !== record.id && h.tool === record.tool && h.createdAt <= record.createdAt,
  );
  const best = mostSimilar(flat, earlier, (h) => flattenArguments(parseArguments(h.arguments)));
  return {
    record,
    flat,
    compared: best && {
      record: best.candidate,
      similarity: best.similarity,
      rows: diffArguments(flattenArguments(parseArguments(best.candidate.arguments)), flat),
    },
  };
}

export interface ApprovalRenderOptions {
  viewer: Viewer;
  scanner: PiiScanner | undefined;
  now: number;
  /** Show values unmasked (only for viewers who may reveal, on the detail page). */
  reveal: boolean;
}

/** One pending request as an `<article>` (also sent as a fragment over server-sent events). */
export function renderApprovalCard(view: ApprovalView, opts: ApprovalRenderOptions): Html {
  const r = view.record;
  const titleId = `approval-${r.id}-title`;
  let maskedCount = 0;
  const cell = (json: string | undefined, path: string): Html => {
    if (json === undefined) return html`<span class="muted">(absent)</span>`;
    const key = path
      .replace(/\[\d+\]$/, '')
      .split('.')
      .at(-1);
    const shown = displayLeaf(json, { scanner: opts.scanner, reveal: opts.reveal, ...(key ? { key } : {}) });
    maskedCount += shown.masked;
    return html`<code${shown.masked ? raw(' class="masked"') : ''}>${shown.text}</code>`;
  };
  const compared = view.compared;
  const rows = compared
    ? compared.rows.map(
        (row) =>
          html`<tr class="diff-${row.change}"><th scope="row"><code>${row.path}</code></th><td>${cell(row.after, row.path)}</td><td>${cell(row.before, row.path)}</td><td>${changeLabel(row.change)}</td></tr>`,
      )
    : [...view.flat].map(
        ([path, json]) =>
          html`<tr><th scope="row"><code>${path}</code></th><td>${cell(json, path)}</td></tr>`,
      );
  const argsTable =
    view.flat.size === 0
      ? html`<p class="muted">No arguments.</p>`
      : compared
        ? html`<table aria-label="Arguments of ${r.tool} compared with the most similar earlier call"><thead><tr><th scope="col">Argument</th><th scope="col">This call</th><th scope="col">Earlier call</th><th scope="col">Difference</th></tr></thead><tbody>${rows}</tbody></table>`
        : html`<table aria-label="Arguments of ${r.tool}"><thead><tr><th scope="col">Argument</th><th scope="col">Value</th></tr></thead><tbody>${rows}</tbody></table>`;
  const comparison = compared
    ? html`<p class="muted">Compared with the most similar earlier call of this tool: <code>${compared.record.id}</code> by <strong>${compared.record.identity}</strong>, ${time(compared.record.createdAt)}, ${statusPill(compared.record)}${compared.record.decidedBy ? html` by ${compared.record.decidedBy}` : ''} (${Math.round(compared.similarity * 100)}% similar).</p>`
    : html`<p class="muted">No earlier call of this tool to compare with.</p>`;
  const revealLink =
    !opts.reveal && opts.viewer.revealPii && maskedCount > 0
      ? html` <a href="/approvals/${r.id}?reveal=1">Show unmasked values</a>`
      : '';
  const maskNote = opts.reveal
    ? html`<p class="notice warn" role="status">Unmasked view: values are shown exactly as the agent sent them.</p>`
    : maskedCount > 0
      ? html`<p class="muted">${maskedCount === 1 ? '1 value that looks like personal data is masked.' : `${maskedCount} values that look like personal data are masked.`}${revealLink}</p>`
      : '';
  const decide = maySupervise(opts.viewer)
    ? html`<div class="decide">
<form method="post" action="/approvals/${r.id}/approve" aria-label="Approve ${r.tool} for ${r.identity}">${csrfField(opts.viewer)}
<label>Note (optional)<input name="reason" maxlength="2000" autocomplete="off"></label>
<button type="submit" class="approve">Approve</button></form>
<form method="post" action="/approvals/${r.id}/deny" aria-label="Deny ${r.tool} for ${r.identity}">${csrfField(opts.viewer)}
<label>Reason for the agent (required)<input name="reason" required maxlength="2000" autocomplete="off"></label>
<button type="submit" class="deny">Deny</button></form></div>`
    : html`<p class="muted">Your role (${opts.viewer.role}) may view but not decide approvals.</p>`;
  return html`<article class="approval" id="approval-${r.id}" data-approval-id="${r.id}" aria-labelledby="${titleId}">
<h3 id="${titleId}"><code>${r.tool}</code> requested by <strong>${r.identity}</strong></h3>
<dl>
<dt>Agent</dt><dd>${r.identity} <span class="muted mono">${r.spiffeId}</span></dd>
<dt>Tool</dt><dd><code>${r.tool}</code></dd>
<dt>Tier</dt><dd>${pill('warn', r.tier)}</dd>
<dt>Requested</dt><dd>${time(r.createdAt)} <span class="muted">(${relative(r.createdAt, opts.now)})</span></dd>
<dt>Expires</dt><dd>${time(r.expiresAt)} <span class="muted">(${relative(r.expiresAt, opts.now)})</span></dd>
<dt>Approval id</dt><dd><code>${r.id}</code></dd>
<dt>Arguments hash</dt><dd><code title="${r.argsHash}">${r.argsHash.slice(0, 16)}…</code></dd>
</dl>
<h4>Arguments</h4>
${argsTable}
${maskNote}
${comparison}
${decide}
</article>`;
}

/** Rows of the recent-decisions table (also refreshed live). */
export function renderRecentRows(records: readonly ApprovalRecord[], now: number): Html {
  if (records.length === 0) {
    return html`<tr><td colspan="7" class="empty">No decisions yet.</td></tr>`;
  }
  return html`${records.map(
    (r) =>
      html`<tr><td><code>${r.id}</code></td><td><code>${r.tool}</code></td><td>${r.identity}</td><td>${statusPill(r)}</td><td>${r.decidedBy ?? html`<span class="muted">–</span>`}</td><td>${r.reason ?? ''}</td><td>${time(r.decidedAt ?? r.expiresAt)} <span class="muted">(${relative(r.decidedAt ?? r.expiresAt, now)})</span></td></tr>`,
  )}`;
}

export function renderApprovalsBody(opts: {
  cards: Html[];
  recent: readonly ApprovalRecord[];
  now: number;
  holdSeconds: number;
}): Html {
  return html`<h1>Approvals</h1>
<p class="lead">Calls in the <strong>approve</strong> tier wait here for a person. An agent's call is held open for ${opts.holdSeconds} s; after that the agent is told the approval id and its retry of the same call runs once approved.</p>
<p class="live" id="live-status" aria-live="polite">Live updates need JavaScript; reload the page to see new requests.</p>
<h2>Pending <span class="badge" data-pending-count data-count="${opts.cards.length}">${opts.cards.length}</span></h2>
<div id="pending-list">${opts.cards}</div>
<p class="empty" id="pending-empty"${opts.cards.length > 0 ? raw(' hidden') : ''}>No calls are waiting for approval. New requests appear here as they arrive.</p>
<h2>Recent decisions</h2>
<table><thead><tr><th scope="col">Approval id</th><th scope="col">Tool</th><th scope="col">Agent</th><th scope="col">Outcome</th><th scope="col">By</th><th scope="col">Reason</th><th scope="col">When</th></tr></thead>
<tbody id="recent-decisions">${renderRecentRows(opts.recent, opts.now)}</tbody></table>`;
}

export function statusPill(r: ApprovalRecord): Html {
  if (r.status === 'approved') return pill('ok', r.consumedAt ? 'approved · used' : 'approved');
  if (r.status === 'denied') return pill('bad', 'denied');
  if (r.status === 'expired') return pill('neutral', 'expired');
  return pill('warn', 'pending');
}

function changeLabel(change: ArgumentDiffRow['change']): Html {
  switch (change) {
    case 'same':
      return html`<span class="muted">same</span>`;
    case 'changed':
      return html`<strong>changed</strong>`;
    case 'added':
      return html`<strong>new</strong>`;
    default:
      return html`<strong>missing now</strong>`;
  }
}

/** The stored arguments JSON (an unreadable value is shown as such, never thrown). */
export function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { '(unreadable arguments)': text.slice(0, 200) };
  }
}

/** Empty state used when the approval queue is not configured. */
export function approvalsUnavailable(): Html {
  return empty('The approval queue is not configured on this connector.');
}
