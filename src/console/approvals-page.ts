/**
 * The Approvals page: the live queue of pending requests (cards: approval-card.ts), and the recent
 * decisions.
 */
import { html, raw } from 'hono/html';
import type { ApprovalRecord } from '../store/store.js';
import { statusPill } from './approval-card.js';
import { empty, type Html, relative, time } from './console-layout.js';

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

/** Empty state used when the approval queue is not configured. */
export function approvalsUnavailable(): Html {
  return empty('The approval queue is not configured on this connector.');
}
