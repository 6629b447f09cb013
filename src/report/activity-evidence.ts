/**
 * What happened in the period, from the audit trail itself: per agent and tool, the calls and their
 * decisions and the PII classes that were tokenized in them; and the admin actions. The data-flow
 * diagram is drawn from this.
 *
 * PII classes are read from what an entry records of the pii stage: a decision's `detail.redacted`
 * (`{ EMAIL: { tokenize: 2 } }`) or `pii` / `classes` fields, and otherwise the PII tokens
 * (`[[EMAIL:…]]`) that appear in the entry's redacted arguments or result. Entries that carry none
 * of these count as calls without PII.
 *
 * @example
 * const activity = await collectActivityEvidence({ audit: store.audit, scope, upstreamOf, reproduce });
 * activity.piiByTool; // [{ tool: 'erp.find_customer', classes: { EMAIL: 3 } }]
 */
import { storedAuditEntries } from '../audit/stored-trail.js';
import { findTokens } from '../pii/token-format.js';
import type { AuditRepository } from '../store/store.js';
import type { ActivityEvidence, ReportScope, ToolActivity } from './report-model.js';
import { inWindow } from './report-model.js';

/** Most admin actions listed in a report (newest kept). */
export const DEFAULT_REPORT_ADMIN_ACTIONS = 500;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function addCounts(into: Record<string, number>, cls: string, n: number): void {
  if (!/^[A-Z][A-Z0-9_]{0,31}$/.test(cls) || !Number.isFinite(n) || n <= 0) return;
  into[cls] = (into[cls] ?? 0) + n;
}

/** `{ EMAIL: { tokenize: 2, mask: 1 } }` or `{ EMAIL: 2 }` → class counts (actions other than `allow`). */
function fromClassMap(value: unknown, into: Record<string, number>): void {
  if (!isObject(value)) return;
  for (const [cls, v] of Object.entries(value)) {
    if (typeof v === 'number') addCounts(into, cls, v);
    else if (isObject(v)) {
      for (const [action, n] of Object.entries(v))
        if (action !== 'allow' && typeof n === 'number') addCounts(into, cls, n);
    }
  }
}

function tokensIn(value: unknown, into: Record<string, number>, depth = 0): void {
  if (depth > 32) return;
  if (typeof value === 'string') for (const t of findTokens(value)) addCounts(into, t.class, 1);
  else if (Array.isArray(value)) for (const v of value) tokensIn(v, into, depth + 1);
  else if (isObject(value)) for (const v of Object.values(value)) tokensIn(v, into, depth + 1);
}

/** The PII classes an audit entry records for its call. */
export function piiClassesOfEntry(entry: Json): Record<string, number> {
  const out: Record<string, number> = {};
  fromClassMap(entry.pii, out);
  const stages = Array.isArray(entry.stages) ? entry.stages : [];
  for (const s of stages) {
    if (!isObject(s) || s.stage !== 'pii') continue;
    fromClassMap(s.pii, out);
    if (isObject(s.detail)) fromClassMap(s.detail.redacted, out);
    if (Array.isArray(s.classes)) for (const c of s.classes) if (typeof c === 'string') addCounts(out, c, 1);
  }
  if (Object.keys(out).length === 0) {
    for (const key of ['arguments', 'result']) {
      const payload = entry[key];
      if (isObject(payload)) tokensIn(payload.redacted, out);
    }
  }
  return out;
}

export interface ActivityInput {
  audit: Pick<AuditRepository, 'listAuditEntries'>;
  scope: ReportScope;
  upstreamOf: (tool: string) => string | null;
  reproduce: string;
}

/** Reads the whole trail once, oldest first, and aggregates what is in scope. */
export async function collectActivityEvidence(input: ActivityInput): Promise<ActivityEvidence> {
  const { scope } = input;
  const flows = new Map<string, ToolActivity>();
  const adminActions: ActivityEvidence['adminActions'] = [];
  let entriesInScope = 0;
  let toolCalls = 0;
  for await (const text of storedAuditEntries(input.audit)) {
    let entry: Json;
    try {
      entry = JSON.parse(text) as Json;
    } catch {
      continue; // verification reports corrupted rows; activity counts what can be read
    }
    const time = typeof entry.time === 'number' ? entry.time : 0;
    if (!inWindow(scope, time)) continue;
    entriesInScope += 1;
    if (entry.kind === 'admin') {
      adminActions.push({
        seq: Number(entry.seq),
        time,
        action: String(entry.action),
        actor: String(entry.actor),
        target: typeof entry.target === 'string' ? entry.target : null,
      });
      continue;
    }
    if (entry.kind !== 'request' || entry.method !== 'tools/call' || typeof entry.tool !== 'string') continue;
    const agent =
      isObject(entry.agent) && typeof entry.agent.name === 'string' ? entry.agent.name : '(unauthenticated)';
    const upstream = input.upstreamOf(entry.tool);
    if (scope.agent !== undefined && agent !== scope.agent) continue;
    if (scope.upstream !== undefined && upstream !== scope.upstream) continue;
    toolCalls += 1;
    const key = `${agent}\u0000${entry.tool}`;
    let flow = flows.get(key);
    if (!flow) {
      flow = { agent, tool: entry.tool, upstream, calls: 0, allowed: 0, denied: 0, errors: 0, pii: {} };
      flows.set(key, flow);
    }
    flow.calls += 1;
    if (entry.decision === 'allow') flow.allowed += 1;
    else if (entry.decision === 'deny') flow.denied += 1;
    else flow.errors += 1;
    for (const [cls, n] of Object.entries(piiClassesOfEntry(entry))) addCounts(flow.pii, cls, n);
  }
  const sorted = [...flows.values()].sort(
    (a, b) => a.agent.localeCompare(b.agent) || a.tool.localeCompare(b.tool),
  );
  const byTool = new Map<string, Record<string, number>>();
  for (const f of sorted) {
    const classes = byTool.get(f.tool) ?? {};
    for (const [cls, n] of Object.entries(f.pii)) addCounts(classes, cls, n);
    byTool.set(f.tool, classes);
  }
  return {
    entriesInScope,
    toolCalls,
    flows: sorted,
    piiByTool: [...byTool.entries()]
      .filter(([, classes]) => Object.keys(classes).length > 0)
      .map(([tool, classes]) => ({ tool, classes }))
      .sort((a, b) => a.tool.localeCompare(b.tool)),
    adminActions: adminActions.slice(-DEFAULT_REPORT_ADMIN_ACTIONS),
    reproduce: input.reproduce,
  };
}
