/**
 * The audit entry model and its hash chain.
 *
 * Every entry is a JSON object with `v`, `seq` (1, 2, 3...), `prevHash` (the previous entry's `hash`,
 * or `GENESIS_HASH` for seq 1), `time`, `tenant`, `kind` and the event's fields; `hash` is the
 * lowercase hex SHA-256 of the RFC 8785 canonical JSON of the entry without `hash`. Changing any
 * byte of any field changes the hash, and the next entry's `prevHash` no longer matches.
 *
 * Kinds:
 * - `intent`: written (durably) BEFORE a call reaches an upstream: who, what, the arguments' hash;
 * - `request`: one JSON-RPC request from an agent and its outcome (see `RequestAuditEvent`), naming
 *   its `intentSeq` when an intent was written;
 * - `admin`: one admin action (policy change, approval, kill switch, identity, tool pin);
 * - `prune`: written by retention; signed, it records which prefix of the chain was deleted.
 *
 * @example
 * const entry = sealEntry({ seq: 1, prevHash: GENESIS_HASH, time: Date.now(), tenant: 'acme' }, event);
 * entryHash(entry) === entry.hash // true
 */
import canonicalize from 'canonicalize';
import { sha256Hex } from '../json/canonical-hash.js';
import { canonicalJson, type JsonValue, toJsonValue } from '../json/canonical-json.js';
import { leafHash } from './merkle-tree.js';

/** Version of the entry format, hashed with every entry. */
export const AUDIT_ENTRY_VERSION = 1;

/** `prevHash` of the first entry: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** The agent behind a request. */
export interface AuditAgent {
  name: string;
  spiffeId?: string;
  certSerial?: string;
  authenticatedBy?: string;
}

/** Arguments or a result: its redacted form and the SHA-256 (hex) of the raw form's canonical JSON. */
export interface AuditPayload {
  redacted: JsonValue;
  sha256: string;
}

/** One stage's verdict as recorded (no arguments, no results). */
export interface AuditStageDecision {
  stage: string;
  outcome: string;
  code?: string;
}

/** One JSON-RPC request from an agent and what became of it. */
export interface RequestAuditEvent {
  kind: 'request';
  agent: AuditAgent | null;
  /** The end user the agent acts for, when known (e.g. a token's `sub`). */
  endUser: string | null;
  /** `Mcp-Session-Id` (legacy era) or null. */
  session: string | null;
  era?: string;
  requestId: string | number | null;
  method: string;
  /** Tool name for `tools/call`, else null. */
  tool: string | null;
  /**
   * `allow`: answered with a result; `deny`: a stage refused (also when the refusal is answered as
   * a tool result, e.g. a denied approval); `pending`: held for a human approval; `error`: failed otherwise.
   */
  decision: 'allow' | 'deny' | 'pending' | 'error';
  /** Seq of the `intent` entry written before the upstream was called, or null. */
  intentSeq?: number | null;
  code: string | null;
  reason: string | null;
  stages: AuditStageDecision[];
  arguments: AuditPayload | null;
  result: AuditPayload | null;
  /** The JSON-RPC error sent back, when the call failed. */
  error: { code: number; airlock: string; message: string } | null;
  /** Time spent in the upstream MCP server, when the call reached it. */
  upstreamLatencyMs: number | null;
  /** Time spent in the gateway pipeline, upstream included. */
  durationMs: number;
  /** UTF-8 bytes of the request params and of the result or error, as JSON. */
  requestBytes: number;
  responseBytes: number;
}

/** Admin actions that are audited. */
export type AdminAuditAction =
  | 'policy.change'
  | 'approval.grant'
  | 'approval.deny'
  /** One approval of a two-person (or more) request that does not yet complete its quorum. */
  | 'approval.vote'
  /** Break-glass for `block`: requested by one admin, confirmed by a second, used by one call. */
  | 'approval.override.request'
  | 'approval.override.confirm'
  | 'approval.override.use'
  | 'killswitch.enable'
  | 'killswitch.disable'
  | 'identity.issue'
  | 'identity.revoke'
  | 'tool.pin'
  | 'tool.reapprove'
  | 'connector.enroll'
  | 'connector.start'
  | 'connector.stop'
  | 'tool.approve'
  | 'tool.disable'
  | 'tool.enable'
  | 'admin.add'
  | 'admin.disable'
  | 'pii.reveal'
  | 'audit.unwitnessed-tail';

/** Written before a call reaches an upstream (write-ahead intent). */
export interface IntentAuditEvent {
  kind: 'intent';
  agent: AuditAgent | null;
  endUser: string | null;
  session: string | null;
  requestId: string | number | null;
  method: string;
  tool: string | null;
  /** Always `allow`: every stage let the call through. */
  decision: 'allow';
  stages: AuditStageDecision[];
  /** The arguments the upstream receives: redacted form and SHA-256 of the raw form. */
  arguments: AuditPayload | null;
}

/** One admin action. */
export interface AdminAuditEvent {
  kind: 'admin';
  action: AdminAuditAction;
  /** Who did it, e.g. `console:alice` or `cli`. */
  actor: string;
  /** What it was done to, e.g. the identity or tool name, or the policy hash. */
  target: string | null;
  reason?: string | null;
  detail?: { [key: string]: JsonValue } | null;
}

/** Written by retention: entries `<= prunedThroughSeq` were deleted; signed with the audit key. */
export interface PruneAuditEvent {
  kind: 'prune';
  prunedThroughSeq: number;
  /** `hash` of the entry `prunedThroughSeq`: the `prevHash` of the first entry kept. */
  prunedThroughHash: string;
  prunedCount: number;
  /** Entries older than this (epoch ms) were pruned. */
  olderThan: number;
  keyId: string;
  /** Ed25519 signature (base64url) over `prunePayload(...)`; see audit-signing.ts. */
  signature: string;
  /** Hex roots of the maximal complete Merkle subtrees of entries 1..prunedThroughSeq (largest first). */
  frontier?: string[];
}

export type AuditEvent = RequestAuditEvent | IntentAuditEvent | AdminAuditEvent | PruneAuditEvent;

/** What callers append: a request, intent or admin event (prune records are written by the ledger). */
export type AuditEventInput = RequestAuditEvent | IntentAuditEvent | AdminAuditEvent;

/** Position of an entry in the chain. */
export interface AuditEntryHeader {
  v: number;
  seq: number;
  prevHash: string;
  /** Epoch milliseconds. */
  time: number;
  tenant: string;
}

/** A sealed entry as stored and exported. */
export type AuditEntry = AuditEntryHeader & AuditEvent & { hash: string };

/**
 * The hash an entry must carry: SHA-256 of the canonical JSON of every field except `hash`.
 *
 * @example
 * if (entryHash(entry) !== entry.hash) console.log('entry', entry.seq, 'was modified');
 */
export function entryHash(entry: { [key: string]: unknown }): string {
  const { hash: _ignored, ...rest } = entry;
  return sha256Hex(canonicalJson(rest));
}

/**
 * Builds and seals an entry: the event's fields as they read back from JSON (undefined dropped),
 * the header, and `hash`.
 *
 * @example
 * const entry = sealEntry({ seq: 2, prevHash: first.hash, time: Date.now(), tenant: 'acme' }, event);
 */
export function sealEntry(header: Omit<AuditEntryHeader, 'v'>, event: AuditEvent): AuditEntry {
  // Normalized once through JSON (undefined dropped, toJSON applied), so it can be canonicalized as is.
  const unsealed = { ...toJsonObject({ ...event, v: AUDIT_ENTRY_VERSION }), ...toJsonObject(header) };
  return { ...unsealed, hash: sha256Hex(canonicalize(unsealed) ?? 'null') } as unknown as AuditEntry;
}

/**
 * The text an entry is stored and exported as: plain JSON. (Its hash is over the RFC 8785 form,
 * which verification recomputes from whatever JSON it reads.)
 */
export function entryText(entry: AuditEntry): string {
  return JSON.stringify(entry);
}

function toJsonObject(value: object): { [key: string]: JsonValue } {
  return (toJsonValue(value) ?? {}) as { [key: string]: JsonValue };
}

/**
 * The entry's Merkle leaf hash: `SHA-256(0x00 || RFC 8785 JSON of the whole entry, hash included)`.
 *
 * @example
 * tree.append(entryLeafHash(entry));
 */
export function entryLeafHash(entry: { [key: string]: unknown }): Buffer {
  return leafHash(Buffer.from(canonicalJson(entry), 'utf8'));
}
