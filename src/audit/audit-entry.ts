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
import { plainCanonicalSplit } from '../json/canonical-plain.js';
import { leafHashOfText } from './merkle-tree.js';

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
  return sealEntryWithLeaf(header, event).entry;
}

/** A sealed entry with what the ledger writes and hashes for it, each computed once. */
export interface SealedAuditEntry {
  entry: AuditEntry;
  /** `entryText(entry)`: the stored text. */
  text: string;
  /** `entryLeafHash(entry)`: the entry's Merkle leaf. */
  leafHash: Buffer;
}

/**
 * `sealEntry`, plus the entry's stored text and Merkle leaf hash, from one canonical serialization:
 * the leaf's RFC 8785 text is the hashed text with the `hash` member put in its sorted place. Values
 * that are not plain JSON data after normalization (a lone surrogate, which `canonicalize` refuses)
 * and headers that JSON would rewrite take the reference path, which answers (or throws) as before.
 *
 * @example
 * const { entry, text, leafHash } = sealEntryWithLeaf({ seq, prevHash, time, tenant }, event);
 */
export function sealEntryWithLeaf(header: Omit<AuditEntryHeader, 'v'>, event: AuditEvent): SealedAuditEntry {
  return plainSeal(header, event) ?? referenceSeal(header, event);
}

/**
 * The one-pass path of `sealEntryWithLeaf`, or undefined when the event or header is outside what it
 * handles (then the reference path seals it).
 *
 * @example
 * const sealed = plainSeal(header, event) ?? sealEntryWithLeaf(header, event);
 */
export function plainSeal(
  header: Omit<AuditEntryHeader, 'v'>,
  event: AuditEvent,
): SealedAuditEntry | undefined {
  const form = plainForm(header, event);
  const split = form && plainCanonicalSplit(form.unsealed, 'hash');
  if (!form || !split) return undefined;
  const { before, after } = split;
  const hash = sha256Hex(`{${before}${before && after ? ',' : ''}${after}}`);
  const leafText = `{${before}${before ? ',' : ''}"hash":"${hash}"${after ? ',' : ''}${after}}`;
  form.unsealed.hash = hash; // appended (the object has no `hash`), as `{ ...unsealed, hash }` does
  const entry = form.unsealed as unknown as AuditEntry;
  // JSON.stringify of what JSON.parse read from `eventJson` is `eventJson` again; appended members follow it.
  const open = form.eventJson === '{}' ? '{' : `${form.eventJson.slice(0, -1)},`;
  const text = form.appended ? `${open}${form.appended},"hash":"${hash}"}` : entryText(entry);
  return { entry, text, leafHash: leafHashOfText(leafText) };
}

/** The old sealing path, kept for values the one-pass path cannot prove identical for. */
function referenceSeal(header: Omit<AuditEntryHeader, 'v'>, event: AuditEvent): SealedAuditEntry {
  const unsealed = { ...toJsonObject({ ...event, v: AUDIT_ENTRY_VERSION }), ...toJsonObject(header) };
  const entry = { ...unsealed, hash: sha256Hex(canonicalize(unsealed) ?? 'null') } as unknown as AuditEntry;
  return {
    entry,
    text: entryText(entry),
    leafHash: entryLeafHash(entry as unknown as Record<string, unknown>),
  };
}

/**
 * `{ ...toJsonObject({ ...event, v }), ...toJsonObject(header) }` (the reference path's unsealed entry)
 * built as one JSON round trip of the event plus the header assigned in place, when every header field
 * is a string or a finite number (JSON keeps those as they are) and neither names `hash`. `eventJson`
 * is the event's JSON text; `appended`, the header's members as JSON when none of them was in the
 * event (they then follow the event's members), else ''. Undefined when the reference path must decide.
 */
function plainForm(
  header: Omit<AuditEntryHeader, 'v'>,
  event: AuditEvent,
): { unsealed: { [key: string]: JsonValue }; eventJson: string; appended: string } | undefined {
  const fields = header as unknown as Record<string, unknown>;
  if (Object.getPrototypeOf(fields) !== Object.prototype || typeof fields.toJSON === 'function')
    return undefined;
  const keys = Object.keys(fields);
  for (const key of keys) {
    const value = fields[key];
    const plain = typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
    // Integer-like names would sort before the event's members in the entry object: not appended.
    if (!plain || key === '__proto__' || key === 'hash' || /^\d/.test(key)) return undefined;
  }
  const eventJson = versionedJson(event);
  const unsealed = eventJson === undefined ? undefined : (JSON.parse(eventJson) as JsonValue);
  if (!eventJson || !isRecord(unsealed) || Object.hasOwn(unsealed, 'hash')) return undefined;
  let appended = '';
  let fresh = true;
  for (const key of keys) {
    const raw = fields[key] as string | number;
    const value = raw === 0 ? 0 : raw; // JSON reads -0 back as 0
    if (Object.hasOwn(unsealed, key)) fresh = false;
    unsealed[key] = value;
    appended += `${appended ? ',' : ''}${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return { unsealed, eventJson, appended: fresh ? appended : '' };
}

/**
 * `JSON.stringify({ ...event, v })`: for a plain event without `v` or `toJSON` (the usual case) its
 * own JSON with `"v":1` appended, which is the same text without the copy.
 */
function versionedJson(event: AuditEvent): string | undefined {
  const proto = Object.getPrototypeOf(event);
  const fields = event as unknown as Record<string, unknown>;
  if (
    (proto !== Object.prototype && proto !== null) ||
    typeof fields.toJSON === 'function' ||
    Object.hasOwn(fields, 'v')
  ) {
    return JSON.stringify({ ...event, v: AUDIT_ENTRY_VERSION }) as string | undefined;
  }
  const own = JSON.stringify(event);
  return own === '{}' ? `{"v":${AUDIT_ENTRY_VERSION}}` : `${own.slice(0, -1)},"v":${AUDIT_ENTRY_VERSION}}`;
}

function isRecord(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
  return leafHashOfText(canonicalJson(entry));
}
