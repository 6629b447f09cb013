/**
 * SIEM export format: OCSF 1.3.0 "API Activity" events (class_uid 6003, category 6 "Application
 * Activity"), one JSON object per line. Mapping:
 *
 * | OCSF | from the entry |
 * |---|---|
 * | `time` | entry time (epoch ms) |
 * | `activity_id` / `activity_name` | requests: 2 Read for `…/list`, `resources/read`, `prompts/get`, 99 Other (name = method) otherwise; admin: 1 Create (identity.issue, tool.pin), 4 Delete (identity.revoke), 3 Update (others); prune: 4 Delete |
 * | `type_uid` | 600300 + activity_id |
 * | `status_id` / `status_code` / `status_detail` | 1 Success / 2 Failure, the `AIRLOCK_*` code and reason |
 * | `severity_id` | 1 Informational (allowed), 3 Medium (denied), 4 High (error), 2 Low (admin, prune) |
 * | `actor.user` | agent name + SPIFFE id, or the admin actor |
 * | `api.operation` / `api.service.name` / `api.request.uid` | JSON-RPC method or admin action / tool / request id |
 * | `metadata` | product Airlock, `uid` = entry hash, `sequence` = seq, `tenant_uid`, `correlation_uid` = session |
 * | `duration` | gateway time in ms |
 * | `unmapped.airlock` | the complete entry (redacted payloads, hashes, sizes, latency) |
 *
 * @example
 * const line = JSON.stringify(toOcsfApiActivity(entry));
 */
import type { AuditEntry } from './audit-entry.js';

export const OCSF_VERSION = '1.3.0';
export const OCSF_API_ACTIVITY_CLASS_UID = 6003;

const READ_METHODS = new Set(['resources/read', 'prompts/get']);

/** One OCSF API Activity event for an entry. */
export function toOcsfApiActivity(entry: AuditEntry): Record<string, unknown> {
  let activityId: number;
  let activityName: string;
  let operation: string;
  let severityId = 2;
  let success = true;
  let statusCode: string | null = null;
  let statusDetail: string | null = null;
  let user: Record<string, unknown> = {};
  let service = 'airlock';
  let requestUid: string | undefined;
  let duration: number | undefined;
  if (entry.kind === 'request' || entry.kind === 'intent') {
    const read = entry.method.endsWith('/list') || READ_METHODS.has(entry.method);
    const intent = entry.kind === 'intent';
    activityId = read ? 2 : 99;
    activityName = intent ? `intent ${entry.method}` : read ? 'Read' : entry.method;
    operation = entry.method;
    severityId = entry.decision === 'allow' ? 1 : entry.decision === 'deny' ? 3 : 4;
    success = entry.decision === 'allow';
    statusCode = intent ? null : entry.code;
    statusDetail = intent ? 'write-ahead intent, before the upstream was called' : entry.reason;
    user = entry.agent ? { name: entry.agent.name, uid: entry.agent.spiffeId, type: 'agent' } : {};
    service = entry.tool ?? 'mcp';
    requestUid = entry.requestId === null ? undefined : String(entry.requestId);
    duration = intent ? undefined : entry.durationMs;
  } else if (entry.kind === 'admin') {
    activityId =
      entry.action === 'identity.issue' || entry.action === 'tool.pin'
        ? 1
        : entry.action === 'identity.revoke'
          ? 4
          : 3;
    activityName =
      ({ 1: 'Create', 3: 'Update', 4: 'Delete' } as Record<number, string>)[activityId] ?? 'Other';
    operation = entry.action;
    user = { name: entry.actor, type: 'admin' };
    service = entry.target ?? 'airlock';
    statusDetail = entry.reason ?? null;
  } else {
    activityId = 4;
    activityName = 'Delete';
    operation = 'audit.prune';
    statusDetail = `entries through seq ${entry.prunedThroughSeq} pruned (${entry.prunedCount})`;
  }
  return {
    class_uid: OCSF_API_ACTIVITY_CLASS_UID,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: OCSF_API_ACTIVITY_CLASS_UID * 100 + activityId,
    time: entry.time,
    severity_id: severityId,
    status_id: success ? 1 : 2,
    status: success ? 'Success' : 'Failure',
    ...(statusCode ? { status_code: statusCode } : {}),
    ...(statusDetail ? { status_detail: statusDetail } : {}),
    ...(duration !== undefined ? { duration } : {}),
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Airlock', vendor_name: 'Airlock', feature: { name: 'audit' } },
      log_name: 'airlock-audit',
      uid: entry.hash,
      sequence: entry.seq,
      tenant_uid: entry.tenant,
      ...(entry.kind === 'request' && entry.session ? { correlation_uid: entry.session } : {}),
    },
    actor: { user },
    api: {
      operation,
      service: { name: service },
      ...(requestUid !== undefined ? { request: { uid: requestUid } } : {}),
    },
    src_endpoint: entry.kind === 'request' && entry.agent ? { name: entry.agent.name } : {},
    unmapped: { airlock: entry },
  };
}
