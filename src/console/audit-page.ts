/**
 * The Audit page: the stored trail, newest first, searchable and filterable (free text, kind,
 * decision, agent, tool), one entry (audit-entry-view.ts), and the trail's verification status (hash chain,
 * signed checkpoints, truncation) from `verifyAuditTrail`.
 */
import { html } from 'hono/html';
import type { AuditVerifyReport } from '../audit/audit-verify.js';
import type { AuditEntryRow, AuditRepository } from '../store/store.js';
import { empty, type Html, pill, time } from './console-layout.js';

/** Entries per page. */
export const DEFAULT_AUDIT_PAGE_SIZE = 50;
/** Most entries read to fill one filtered page (older matches are reached with "Older entries"). */
export const DEFAULT_AUDIT_SCAN_LIMIT = 20_000;
const CHUNK = 500;

export interface AuditFilters {
  q?: string;
  kind?: string;
  decision?: string;
  agent?: string;
  tool?: string;
  /** Only entries with `seq < before`. */
  before?: number;
}

/** One entry, as the list shows it. */
export interface AuditListItem {
  seq: number;
  time: number;
  kind: string;
  who: string;
  what: string;
  target: string;
  outcome: string;
  code: string;
  reason: string;
}

export interface AuditPageResult {
  items: AuditListItem[];
  /** `before` of the next (older) page, when there may be more. */
  nextBefore: number | undefined;
  scanned: number;
}

/** Reads one page of entries matching `filters`, newest first. */
export async function searchAudit(
  repo: Pick<AuditRepository, 'auditHead' | 'listAuditEntries'>,
  filters: AuditFilters,
  opts: { pageSize?: number; scanLimit?: number } = {},
): Promise<AuditPageResult> {
  const pageSize = opts.pageSize ?? DEFAULT_AUDIT_PAGE_SIZE;
  const scanLimit = opts.scanLimit ?? DEFAULT_AUDIT_SCAN_LIMIT;
  const head = await repo.auditHead();
  if (!head) return { items: [], nextBefore: undefined, scanned: 0 };
  let cursor = Math.min(filters.before ?? head.seq + 1, head.seq + 1);
  const items: AuditListItem[] = [];
  let scanned = 0;
  const q = filters.q?.trim().toLowerCase();
  while (cursor > 1 && items.length < pageSize && scanned < scanLimit) {
    const afterSeq = Math.max(0, cursor - 1 - CHUNK);
    const rows = (await repo.listAuditEntries({ afterSeq, limit: CHUNK })).filter((r) => r.seq < cursor);
    for (const row of rows.reverse()) {
      scanned++;
      if (q && !row.entry.toLowerCase().includes(q)) {
        cursor = row.seq;
        continue;
      }
      const item = toListItem(row);
      cursor = row.seq;
      if (!matches(item, filters)) continue;
      items.push(item);
      if (items.length >= pageSize) break;
    }
    if (items.length >= pageSize) break;
    cursor = Math.min(cursor, afterSeq + 1);
    if (afterSeq === 0) {
      cursor = 0;
      break;
    }
  }
  return { items, nextBefore: cursor > 1 ? cursor : undefined, scanned };
}

/** Summarises one stored entry (a row that does not parse is listed as `unreadable`). */
export function toListItem(row: AuditEntryRow): AuditListItem {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(row.entry) as Record<string, unknown>;
  } catch {
    return {
      seq: row.seq,
      time: row.time,
      kind: 'unreadable',
      who: '',
      what: '',
      target: '',
      outcome: '',
      code: '',
      reason: '',
    };
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));
  const kind = str(e.kind);
  if (kind === 'request') {
    const agent = e.agent as { name?: string } | null;
    // A refusal answered as a tool result (e.g. a denied approval) carries its code in the stages.
    const stages = Array.isArray(e.stages) ? (e.stages as Array<{ outcome?: string; code?: string }>) : [];
    const stageCode = stages.find((s) => s.outcome === 'deny' && typeof s.code === 'string')?.code;
    return {
      seq: row.seq,
      time: row.time,
      kind,
      who: str(agent?.name),
      what: str(e.method),
      target: str(e.tool),
      outcome: trueDecision(str(e.decision), stages),
      code: str(e.code) || (stageCode ?? ''),
      reason: str(e.reason),
    };
  }
  if (kind === 'admin') {
    return {
      seq: row.seq,
      time: row.time,
      kind,
      who: str(e.actor),
      what: str(e.action),
      target: str(e.target),
      outcome: 'admin',
      code: '',
      reason: str(e.reason),
    };
  }
  if (kind === 'intent') return intentItem(row, e);
  if (kind === 'prune') {
    return {
      seq: row.seq,
      time: row.time,
      kind,
      who: 'retention',
      what: 'prune',
      target: `through #${str(e.prunedThroughSeq)}`,
      outcome: 'info',
      code: '',
      reason: `${str(e.prunedCount)} entries pruned`,
    };
  }
  return {
    seq: row.seq,
    time: row.time,
    kind: kind || 'unknown',
    who: '',
    what: '',
    target: '',
    outcome: '',
    code: '',
    reason: '',
  };
}

function matches(item: AuditListItem, f: AuditFilters): boolean {
  if (f.kind && item.kind !== f.kind) return false;
  if (f.decision && item.outcome !== f.decision) return false;
  if (f.agent && !item.who.toLowerCase().includes(f.agent.toLowerCase())) return false;
  if (f.tool && !item.target.toLowerCase().includes(f.tool.toLowerCase())) return false;
  return true;
}

/** The cached outcome of the last verification. */
export interface AuditVerification {
  report: AuditVerifyReport;
  checkedAt: number;
  checkedBy: string;
}

export function renderVerification(v: AuditVerification | undefined, available: boolean): Html {
  if (!available) {
    return html`<div class="panel"><p>${pill('neutral', 'not available')} Verification needs the audit public key; this console was started without it.</p></div>`;
  }
  const button = html`<form method="get" action="/audit/verify" class="stack"><button type="submit" class="secondary">Verify the trail now</button></form>`;
  if (!v)
    return html`<div class="panel"><p>${pill('neutral', 'not verified yet')} The trail has not been verified since the console started.</p>${button}</div>`;
  const r = v.report;
  const status = r.ok
    ? html`<p>${pill('ok', 'intact')} ${r.entries} entries checked (seq ${r.firstSeq ?? '–'}–${r.lastSeq ?? '–'}); hash chain intact; ${r.checkpoints} signed checkpoint${r.checkpoints === 1 ? '' : 's'}, signed through entry ${r.signedThrough}${r.pruned ? `; ${r.pruned} older entries pruned by a signed record` : ''}.</p>`
    : html`<p role="alert">${pill('bad', r.firstProblem?.kind ?? 'problem')} <strong>The trail does not verify</strong> at entry ${r.firstProblem?.seq ?? '?'}: ${r.firstProblem?.detail ?? ''}</p>`;
  return html`<div class="panel">${status}<p class="muted">Checked ${time(v.checkedAt)} by ${v.checkedBy}.</p>${button}</div>`;
}

export function renderAuditBody(opts: {
  filters: AuditFilters;
  result: AuditPageResult;
  verification: Html;
}): Html {
  const f = opts.filters;
  const option = (value: string, label: string, current: string | undefined) =>
    html`<option value="${value}"${current === value ? html` selected` : ''}>${label}</option>`;
  const rows = opts.result.items.map(
    (i) =>
      html`<tr><td class="num"><a href="/audit/${i.seq}">${i.seq}</a></td><td>${time(i.time)}</td><td>${i.kind}</td><td>${i.who}</td><td><code>${i.what}</code></td><td><code>${i.target}</code></td><td>${outcomePill(i.outcome)}</td><td>${i.code ? html`<code>${i.code}</code>` : ''}${i.reason ? html`<div class="muted">${i.reason}</div>` : ''}</td></tr>`,
  );
  const query = (before: number) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries({
      q: f.q,
      kind: f.kind,
      decision: f.decision,
      agent: f.agent,
      tool: f.tool,
    })) {
      if (v) p.set(k, v);
    }
    p.set('before', String(before));
    return `/audit?${p.toString()}`;
  };
  const filtered = Boolean(f.q || f.kind || f.decision || f.agent || f.tool);
  return html`<h1>Audit</h1>
<p class="lead">Every request and admin action, hash-chained and signed on this connector. Arguments and results are stored redacted.</p>
<h2>Verification</h2>
${opts.verification}
<h2>Entries</h2>
<form class="filters" method="get" action="/audit" role="search" aria-label="Filter audit entries">
<label>Search text<input type="search" name="q" value="${f.q ?? ''}" placeholder="code, tool, agent…"></label>
<label>Kind<select name="kind">${option('', 'any', f.kind)}${option('request', 'request', f.kind)}${option('admin', 'admin action', f.kind)}${option('prune', 'prune', f.kind)}</select></label>
<label>Decision<select name="decision">${option('', 'any', f.decision)}${option('allow', 'allow', f.decision)}${option('deny', 'deny', f.decision)}${option('pending', 'pending', f.decision)}${option('error', 'error', f.decision)}</select></label>
<label>Agent or actor<input name="agent" value="${f.agent ?? ''}"></label>
<label>Tool or target<input name="tool" value="${f.tool ?? ''}"></label>
<button type="submit">Apply</button> <a class="button secondary" href="/audit">Clear</a>
</form>
${
  opts.result.items.length
    ? html`<table class="audit"><thead><tr><th scope="col" class="num">#</th><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Agent / actor</th><th scope="col">Method / action</th><th scope="col">Tool / target</th><th scope="col">Decision</th><th scope="col">Code / reason</th></tr></thead><tbody>${rows}</tbody></table>`
    : empty(
        filtered
          ? 'No audit entries match these filters.'
          : 'The audit trail is empty: entries appear here as agents make requests.',
      )
}
${opts.result.nextBefore ? html`<p><a href="${query(opts.result.nextBefore)}">Older entries</a></p>` : ''}`;
}

function intentItem(row: AuditEntryRow, e: Record<string, unknown>): AuditListItem {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const agent = e.agent as { name?: string } | null;
  return {
    seq: row.seq,
    time: row.time,
    kind: 'intent',
    who: str(agent?.name),
    what: str(e.method),
    target: str(e.tool),
    outcome: 'intent',
    code: '',
    reason: 'written before the call reached the upstream',
  };
}

/**
 * The decision as it happened: a refusal answered as a tool result (a denied or pending approval)
 * was recorded as `allow` by older entries; the stage that refused tells the truth.
 */
function trueDecision(recorded: string, stages: Array<{ outcome?: string; code?: string }>): string {
  if (recorded !== 'allow') return recorded;
  const deny = stages.find((s) => s.outcome === 'deny');
  if (!deny) return recorded;
  return deny.code === 'AIRLOCK_APPROVAL_PENDING' ? 'pending' : 'deny';
}

/** A pill for a decision (`allow`, `deny`, `error`, `pending`, …). */
export function outcomePill(outcome: string): Html | string {
  if (outcome === 'allow') return pill('ok', 'allow');
  if (outcome === 'deny') return pill('bad', 'deny');
  if (outcome === 'error') return pill('warn', 'error');
  if (outcome === 'pending') return pill('warn', 'pending');
  return outcome ? pill('neutral', outcome) : '';
}
