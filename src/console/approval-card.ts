/**
 * One approval request as an `<article>` for the person who decides (also sent as a fragment over
 * server-sent events): what the tool does (title, description, annotations from the pinned
 * definition), why it needs approval (the policy rule), who asks (identity and end user), the
 * arguments as a readable table (personal data masked unless revealed), the differences from the most
 * similar earlier decided call of the same identity and tool, and the approve / deny forms.
 */
import { html, raw } from 'hono/html';
import type { PiiScanner } from '../pii/pii-scanner.js';
import type { ApprovalRecord } from '../store/store.js';
import { parseArguments } from './approval-args.js';
import type { ApprovalFacts, ToolFacts } from './approval-facts.js';
import {
  type ArgumentDiffRow,
  diffArguments,
  type FlatArguments,
  flattenArguments,
  mostSimilar,
} from './args-diff.js';
import { csrfField, type Html, maySupervise, pill, relative, time, type Viewer } from './console-layout.js';
import { displayLeaf } from './pii-mask.js';
import { renderValueTable } from './value-table.js';

/** One request with what the card shows about it. */
export interface ApprovalView {
  record: ApprovalRecord;
  args: unknown;
  flat: FlatArguments;
  facts: ApprovalFacts | undefined;
  compared: { record: ApprovalRecord; rows: ArgumentDiffRow[]; similarity: number } | undefined;
}

/** Builds the view of `record`, comparing it with the most similar of `decided` (earlier decided calls). */
export function approvalView(
  record: ApprovalRecord,
  decided: readonly ApprovalRecord[],
  facts?: ApprovalFacts,
): ApprovalView {
  const args = parseArguments(record.arguments);
  const flat = flattenArguments(args);
  const earlier = decided.filter(
    (h) => h.id !== record.id && h.status !== 'pending' && h.status !== 'expired' && h.tool === record.tool,
  );
  const best = mostSimilar(flat, earlier, (h) => flattenArguments(parseArguments(h.arguments)));
  return {
    record,
    args,
    flat,
    facts,
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
  /** Show values unmasked (only for viewers who may reveal, on the detail page; the reveal is audited). */
  reveal: boolean;
}

/** See the module comment. */
export function renderApprovalCard(view: ApprovalView, opts: ApprovalRenderOptions): Html {
  const r = view.record;
  const titleId = `approval-${r.id}-title`;
  const { table, masked } = renderValueTable(view.args, {
    label: `Arguments of ${r.tool}`,
    scanner: opts.scanner,
    reveal: opts.reveal,
  });
  const comparison = renderComparison(view, opts);
  const tool = view.facts?.tool;
  return html`<article class="approval" id="approval-${r.id}" data-approval-id="${r.id}" aria-labelledby="${titleId}">
<h3 id="${titleId}"><code>${r.tool}</code> requested by <strong>${r.identity}</strong></h3>
${renderToolFacts(tool)}
<dl>
<dt>Why approval</dt><dd>${renderRule(view.facts, r)}</dd>
<dt>Agent</dt><dd>${r.identity} <span class="muted mono">${r.spiffeId}</span></dd>
<dt>End user</dt><dd>${view.facts?.endUser ?? html`<span class="muted">none recorded</span>`}</dd>
<dt>Requested</dt><dd>${time(r.createdAt)} <span class="muted">(${relative(r.createdAt, opts.now)})</span></dd>
<dt>Expires</dt><dd>${time(r.expiresAt)} <span class="muted">(${relative(r.expiresAt, opts.now)})</span></dd>
${renderQuorum(view.facts)}
<dt>Approval id</dt><dd><a href="/approvals/${r.id}"><code>${r.id}</code></a></dd>
</dl>
<h4>Arguments</h4>
${table}
${renderMaskNote(r, Math.max(masked, comparison.masked), opts)}
${comparison.html}
${renderDecide(r, opts.viewer)}
</article>`;
}

function renderToolFacts(tool: ToolFacts | undefined): Html {
  if (!tool) return html`<p class="muted">This tool's definition has not been pinned yet.</p>`;
  const a = tool.annotations;
  const hints: Html[] = [];
  if (a.destructiveHint === true) hints.push(pill('bad', 'destructive'));
  if (a.readOnlyHint === true) hints.push(pill('ok', 'read-only'));
  if (a.idempotentHint === true) hints.push(pill('neutral', 'idempotent'));
  if (a.openWorldHint === true) hints.push(pill('warn', 'reaches outside systems'));
  const hintText =
    hints.length > 0
      ? html`${hints}`
      : html`<span class="muted">The server does not say whether this tool changes data.</span>`;
  return html`<div class="tool-facts">${tool.title ? html`<p class="tool-title">${tool.title}</p>` : ''}
<p>${tool.description ?? html`<span class="muted">No description.</span>`}</p>
<p>${hintText}${tool.approved ? '' : html` ${pill('warn', 'definition not approved yet')}`}</p></div>`;
}

/** For a multi-person rule: how many approvals are needed, from which roles, and who approved so far. */
function renderQuorum(facts: ApprovalFacts | undefined): Html | string {
  if (!facts?.required || facts.required < 2) return '';
  const who = facts.approvers.length ? facts.approvers.join(', ') : 'nobody yet';
  const roles = facts.roles?.length ? ` (${facts.roles.join(' or ')})` : '';
  return html`<dt>Approvals</dt><dd><strong>${facts.approvers.length} of ${facts.required}</strong>${roles}: ${who}</dd>`;
}

function renderRule(facts: ApprovalFacts | undefined, r: ApprovalRecord): Html {
  const rule = facts?.rule;
  const tier = pill('warn', r.tier);
  if (!rule) return html`${tier} <span class="muted">(the rule is not recorded)</span>`;
  if (rule.source === 'record') return html`${tier} rule <strong>${rule.label}</strong>`;
  if (rule.source === 'default')
    return html`${tier} no rule matched: <strong>${rule.label}</strong> <span class="muted">(policy in force now)</span>`;
  return html`${tier} rule <strong>${rule.label}</strong> <span class="muted">(as the policy in force now decides this call)</span>`;
}

function renderComparison(view: ApprovalView, opts: ApprovalRenderOptions): { html: Html; masked: number } {
  const compared = view.compared;
  if (!compared) {
    return {
      html: html`<p class="muted">No earlier decided call of this tool by ${view.record.identity} to compare with.</p>`,
      masked: 0,
    };
  }
  let masked = 0;
  const cell = (json: string | undefined, path: string): Html => {
    if (json === undefined) return html`<span class="muted">(absent)</span>`;
    const key = path
      .replace(/\[\d+\]$/, '')
      .split('.')
      .at(-1);
    const shown = displayLeaf(json, { scanner: opts.scanner, reveal: opts.reveal, ...(key ? { key } : {}) });
    masked += shown.masked;
    return html`<code${shown.masked ? raw(' class="masked"') : ''}>${shown.text}</code>`;
  };
  const changed = compared.rows.filter((row) => row.change !== 'same');
  const e = compared.record;
  const intro = html`<p class="muted">Compared with the most similar earlier decided call: <a href="/approvals/${e.id}"><code>${e.id}</code></a>, ${time(e.createdAt)}, ${statusPill(e)}${e.decidedBy ? html` by ${e.decidedBy}` : ''} (${Math.round(compared.similarity * 100)}% similar).</p>`;
  if (changed.length === 0) return { html: html`${intro}<p>Same arguments as that call.</p>`, masked };
  const rows = changed.map(
    (row) =>
      html`<tr class="diff-${row.change}"><th scope="row"><code>${row.path}</code></th><td>${cell(row.after, row.path)}</td><td>${cell(row.before, row.path)}</td><td>${changeLabel(row.change)}</td></tr>`,
  );
  return {
    html: html`${intro}<table aria-label="Differences from the earlier call"><thead><tr><th scope="col">Argument</th><th scope="col">This call</th><th scope="col">Earlier call</th><th scope="col">Difference</th></tr></thead><tbody>${rows}</tbody></table>`,
    masked,
  };
}

function renderMaskNote(r: ApprovalRecord, masked: number, opts: ApprovalRenderOptions): Html | string {
  if (opts.reveal)
    return html`<p class="notice warn" role="status">Unmasked view: values are shown exactly as the agent sent them. This view was recorded in the audit trail.</p>`;
  if (masked === 0) return '';
  const link = opts.viewer.revealPii
    ? html` <a href="/approvals/${r.id}?reveal=1">Show unmasked values (audited)</a>`
    : '';
  return html`<p class="muted">${masked === 1 ? '1 value that looks like personal data is masked.' : `${masked} values that look like personal data are masked.`}${link}</p>`;
}

function renderDecide(r: ApprovalRecord, viewer: Viewer): Html {
  if (r.status !== 'pending') return html``;
  if (!maySupervise(viewer))
    return html`<p class="muted">Your role (${viewer.role}) may view but not decide approvals.</p>`;
  return html`<div class="decide">
<form method="post" action="/approvals/${r.id}/approve" aria-label="Approve ${r.tool} for ${r.identity}">${csrfField(viewer)}
<label>Note (optional)<input name="reason" maxlength="2000" autocomplete="off"></label>
<button type="submit" class="approve">Approve</button></form>
<form method="post" action="/approvals/${r.id}/deny" aria-label="Deny ${r.tool} for ${r.identity}">${csrfField(viewer)}
<label>Reason for the agent (required)<input name="reason" required maxlength="2000" autocomplete="off"></label>
<button type="submit" class="deny">Deny</button></form></div>`;
}

/** A pill for the request's status. */
export function statusPill(r: ApprovalRecord): Html {
  if (r.status === 'approved') return pill('ok', r.consumedAt ? 'approved · used' : 'approved');
  if (r.status === 'denied') return pill('bad', 'denied');
  if (r.status === 'expired') return pill('neutral', 'expired');
  return pill('warn', 'pending');
}

function changeLabel(change: ArgumentDiffRow['change']): Html {
  if (change === 'same') return html`<span class="muted">same</span>`;
  if (change === 'changed') return html`<strong>changed</strong>`;
  if (change === 'added') return html`<strong>new</strong>`;
  return html`<strong>missing now</strong>`;
}
