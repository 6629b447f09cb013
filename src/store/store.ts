/**
 * The storage interface. Everything Airlock persists goes through a `Store`; the relay and the
 * connector each open one. Repositories are written once in portable SQL against a `SqlDialect`
 * (see `dialect.ts`), and each backend (SQLite, PostgreSQL) only implements the dialect — the same
 * idea as kysely's `Dialect`. One test suite runs against every backend.
 *
 * All times are epoch milliseconds.
 */
import type { ChangeFeed } from './change-feed.js';

export interface TenantRecord {
  name: string;
  createdAt: number;
}

export interface EnrollmentTokenRecord {
  id: string;
  tenant: string;
  /** SHA-256 (hex) of the token secret; the secret itself is never stored. */
  secretHash: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export type ConsumeTokenResult =
  | { ok: true; token: EnrollmentTokenRecord }
  | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'mismatch' };

export interface ConnectorRecord {
  id: string;
  tenant: string;
  /** SHA-256 (hex) of the connector's public key (SPKI DER). */
  keyFingerprint: string;
  certSerial: string;
  enrolledAt: number;
  revokedAt: number | null;
  /**
   * SHA-256 (hex, of the DER) of the tenant CA that vouched for this connector at enrollment, or null:
   * an unbound connector (enrolled with a token alone) gets no tunnel.
   */
  boundCaFingerprint: string | null;
  /** When a tunnel of this connector last came up or went down, or null. */
  lastSeenAt: number | null;
}

/** The tenant CA pinned at the relay by the tenant's first bound connector. */
export interface TenantCaPin {
  tenant: string;
  caCertPem: string;
  /** SHA-256 (hex) of the CA certificate DER. */
  caFingerprint: string;
  pinnedAt: number;
}

export interface AgentIdentityRecord {
  name: string;
  /** SPIFFE-style id, e.g. `spiffe://acme.airlock/agent/claims-bot`. */
  spiffeId: string;
  /** Certificate serial (hex) and SHA-256 fingerprint of the certificate DER. */
  certSerial: string;
  certFingerprint: string;
  notAfter: number;
  createdAt: number;
  revokedAt: number | null;
}

export interface RelayRepository {
  addTenant(name: string, now: number): Promise<TenantRecord>;
  getTenant(name: string): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;
  removeTenant(name: string): Promise<boolean>;

  createEnrollmentToken(token: Omit<EnrollmentTokenRecord, 'usedAt'>): Promise<void>;
  /** Atomically mark a token used. Exactly one caller can ever get `ok: true` for a given id. */
  consumeEnrollmentToken(id: string, secretHash: string, now: number): Promise<ConsumeTokenResult>;

  addConnector(record: Omit<ConnectorRecord, 'revokedAt' | 'lastSeenAt'>): Promise<void>;
  getConnector(id: string): Promise<ConnectorRecord | undefined>;
  listConnectors(tenant?: string): Promise<ConnectorRecord[]>;
  revokeConnector(id: string, now: number): Promise<boolean>;
  /** Records that a tunnel of the connector came up or went down now. */
  touchConnector(id: string, now: number): Promise<void>;

  /** The tenant's pinned CA, if its first bound connector pinned one. */
  getTenantCaPin(tenant: string): Promise<TenantCaPin | undefined>;
  /**
   * Pins the tenant CA unless one is pinned already (first writer wins, atomically). Returns the pin in
   * force afterwards: compare its fingerprint to know whether `pin` won.
   */
  pinTenantCa(pin: TenantCaPin): Promise<TenantCaPin>;
}

export interface IdentityRepository {
  addIdentity(record: Omit<AgentIdentityRecord, 'revokedAt'>): Promise<void>;
  getIdentity(name: string): Promise<AgentIdentityRecord | undefined>;
  getIdentityBySerial(certSerial: string): Promise<AgentIdentityRecord | undefined>;
  listIdentities(): Promise<AgentIdentityRecord[]>;
  /** Revoke every certificate issued for `name`. Returns false when no such identity exists. */
  revokeIdentity(name: string, now: number): Promise<boolean>;
  /**
   * Revoke OAuth access tokens of `subject` from `issuer` (bearer identities have no certificate row).
   * Keeps an earlier revocation time. Returns true when the subject was not revoked yet.
   */
  revokeSubject(issuer: string, subject: string, now: number): Promise<boolean>;
  /** Lift a subject's revocation. Returns false when it was not revoked. */
  reinstateSubject(issuer: string, subject: string): Promise<boolean>;
  isSubjectRevoked(issuer: string, subject: string): Promise<boolean>;
  /**
   * Every certificate and token subject revoked at or after `since` (epoch ms), oldest first: the cheap
   * query the agent endpoint polls to close live connections of revoked identities.
   */
  listRevokedSince(since: number): Promise<RevokedCredential[]>;
}

/** A revocation, as `listRevokedSince` reports it. */
export type RevokedCredential =
  | { kind: 'certificate'; name: string; certSerial: string; revokedAt: number }
  | { kind: 'subject'; issuer: string; subject: string; revokedAt: number };

/** One accepted version of the connector's policy file, as it was loaded. */
export interface PolicyVersionRecord {
  /** Monotonic sequence number (1, 2, 3...) assigned by the store. */
  seq: number;
  /** SHA-256 (hex) of `text`. */
  hash: string;
  /** The policy file's full text. */
  text: string;
  /** Where it came from, e.g. the file path or `admin-api`. */
  source: string;
  loadedAt: number;
}

export interface PolicyVersionRepository {
  /** Appends a version; the store assigns the next `seq`. */
  recordPolicyVersion(version: Omit<PolicyVersionRecord, 'seq'>): Promise<PolicyVersionRecord>;
  /** The most recently recorded version. */
  latestPolicyVersion(): Promise<PolicyVersionRecord | undefined>;
  getPolicyVersion(seq: number): Promise<PolicyVersionRecord | undefined>;
  /** Newest first, at most `limit` (default 100). */
  listPolicyVersions(opts?: { limit?: number }): Promise<PolicyVersionRecord[]>;
}

/**
 * One audit-trail entry as stored: `entry` is the entry's JSON text (the authoritative content; see
 * src/audit/), `seq`, `time` and `hash` are copied out of it for ordering and lookups.
 */
export interface AuditEntryRow {
  seq: number;
  time: number;
  hash: string;
  entry: string;
}

/** A signed audit checkpoint as stored: `checkpoint` is its JSON text. */
export interface AuditCheckpointRow {
  treeSize: number;
  headHash: string;
  time: number;
  checkpoint: string;
}

/** A checkpoint a connector submitted to this relay's audit witness. */
export interface WitnessCheckpointRow extends AuditCheckpointRow {
  tenant: string;
  receivedAt: number;
}

/** A connector's audit public key registered with the relay's witness. */
export interface WitnessKeyRecord {
  tenant: string;
  /** Lowercase hex SHA-256 of the SPKI DER. */
  keyId: string;
  publicKeyPem: string;
  registeredAt: number;
}

export type AddWitnessCheckpointResult =
  | { status: 'stored' }
  | { status: 'duplicate' }
  | { status: 'conflict'; existing: WitnessCheckpointRow };

/**
 * The connector's audit ledger (append-only entries and signed checkpoints) and the relay's audit
 * witness (checkpoints per tenant). Integrity rules live in src/audit/; this only stores rows.
 */
export interface AuditRepository {
  /**
   * Writes entries and checkpoints in ONE transaction and, with `pruneThroughSeq`, deletes entries
   * with `seq <= pruneThroughSeq` in it too. Resolves once committed (durable). A `seq` or tree size
   * that already exists rejects with `AIRLOCK_STORE_DUPLICATE` and writes nothing.
   */
  appendAudit(batch: {
    entries: readonly AuditEntryRow[];
    checkpoints: readonly AuditCheckpointRow[];
    pruneThroughSeq?: number;
  }): Promise<void>;
  /** The entry with the highest seq. */
  auditHead(): Promise<AuditEntryRow | undefined>;
  getAuditEntry(seq: number): Promise<AuditEntryRow | undefined>;
  /** Oldest first, `seq > afterSeq` (default 0), at most `limit` (default 1000). */
  listAuditEntries(opts?: { afterSeq?: number; limit?: number }): Promise<AuditEntryRow[]>;
  /** The highest seq whose entry time is `< time`. */
  lastAuditSeqBefore(time: number): Promise<number | undefined>;
  /** Smallest tree size first, `treeSize > afterTreeSize` (default 0), at most `limit` (default 1000). */
  listAuditCheckpoints(opts?: { afterTreeSize?: number; limit?: number }): Promise<AuditCheckpointRow[]>;
  latestAuditCheckpoint(): Promise<AuditCheckpointRow | undefined>;

  /** Relay witness: registers (or re-registers, idempotently) a connector's audit public key. */
  registerWitnessKey(record: WitnessKeyRecord): Promise<void>;
  listWitnessKeys(tenant: string): Promise<WitnessKeyRecord[]>;
  /**
   * Relay witness: stores a checkpoint unless one with the same tree size exists (`duplicate` when
   * its head hash is equal, `conflict` otherwise) or a larger tree size is already stored (`conflict`).
   */
  addWitnessCheckpoint(row: WitnessCheckpointRow): Promise<AddWitnessCheckpointResult>;
  /** Smallest tree size first, `treeSize > afterTreeSize` (default 0), at most `limit` (default 1000). */
  listWitnessCheckpoints(
    tenant: string,
    opts?: { afterTreeSize?: number; limit?: number },
  ): Promise<WitnessCheckpointRow[]>;
}

/** One PII vault row: the value is sealed (AES-256-GCM) by the caller; the store never sees it in clear. */
export interface PiiVaultRecord {
  tenant: string;
  /** The token the model sees, e.g. `[[EMAIL:7f3a9c21]]`; unique per tenant. */
  token: string;
  /** Full keyed HMAC (hex) of the class and normalised value; unique per tenant. */
  digest: string;
  /** Data class, e.g. `EMAIL`. */
  dataClass: string;
  /** `v1.<iv>.<ciphertext>.<tag>` (base64url), bound to tenant and token as associated data. */
  sealedValue: string;
  createdAt: number;
}

export interface PiiVaultRepository {
  /** Inserts unless the tenant already has this token or this digest; true when inserted. */
  putVaultEntry(record: PiiVaultRecord): Promise<boolean>;
  getVaultEntryByToken(tenant: string, token: string): Promise<PiiVaultRecord | undefined>;
  getVaultEntryByDigest(tenant: string, digest: string): Promise<PiiVaultRecord | undefined>;
  countVaultEntries(tenant: string): Promise<number>;
}

/**
 * The pin of one namespaced tool: the definition an admin (or trust-on-first-use) approved, and the one
 * its upstream serves now. Definitions are canonical JSON (RFC 8785); hashes are their hex SHA-256.
 */
export interface ToolPinRecord {
  tool: string;
  /** Null until approved (review mode, or a first definition the poisoning scan flagged). */
  approvedHash: string | null;
  approvedDefinition: string | null;
  approvedAt: number | null;
  /** Who approved: an admin name, or `tofu` for trust on first use. */
  approvedBy: string | null;
  /** The definition most recently observed from the upstream. */
  observedHash: string;
  observedDefinition: string;
  /** JSON array of the poisoning-scan findings of the observed definition. */
  observedFindings: string;
  firstSeenAt: number;
  /** When the observed definition was first seen. */
  observedAt: number;
}

/** A tool stopped by the kill switch. */
export interface DisabledToolRecord {
  tool: string;
  reason: string;
  disabledBy: string;
  disabledAt: number;
}

/** One entry of the append-only catalog log; `seq` is the catalog revision the change produced. */
export interface CatalogEventRecord {
  seq: number;
  tool: string;
  action: 'first-seen' | 'pinned' | 'changed' | 'approved' | 'disabled' | 'enabled';
  hash: string | null;
  actor: string;
  /** Findings JSON (first-seen, changed) or the disable reason. */
  detail: string;
  at: number;
}

/** Everything the runtime needs, read in one transaction. */
export interface CatalogSnapshot {
  revision: number;
  pins: ToolPinRecord[];
  disabled: DisabledToolRecord[];
}

export interface ObserveToolInput {
  tool: string;
  hash: string;
  definition: string;
  findings: string;
  at: number;
  /** Trust on first use: approve the definition when the tool has never been approved. */
  autoApprove: boolean;
}

export interface ObserveToolResult {
  record: ToolPinRecord;
  /** `pinned`: approved by TOFU now; `changed`: differs from the previously observed definition. */
  change: 'unchanged' | 'first-seen' | 'pinned' | 'changed';
}

export type ApproveToolResult =
  | { status: 'approved'; record: ToolPinRecord }
  | { status: 'unknown' }
  /** The observed definition is no longer the one the admin reviewed. */
  | { status: 'stale'; observedHash: string };

export interface CatalogRepository {
  /** A counter bumped by every change; cheap to read on every request. */
  catalogRevision(): Promise<number>;
  catalogSnapshot(): Promise<CatalogSnapshot>;
  getToolPin(tool: string): Promise<ToolPinRecord | undefined>;
  /** Records the definition an upstream serves (no write when it is the one already observed). */
  observeTool(input: ObserveToolInput): Promise<ObserveToolResult>;
  /** Approves the observed definition (only if it still has `expectedHash`, when given). */
  approveTool(
    tool: string,
    opts: { by: string; at: number; expectedHash?: string },
  ): Promise<ApproveToolResult>;
  /** Kill switch on (idempotent; a second call updates the reason). */
  disableTool(record: DisabledToolRecord): Promise<void>;
  /** Kill switch off. False when the tool was not disabled. */
  enableTool(tool: string, by: string, at: number): Promise<boolean>;
  listDisabledTools(): Promise<DisabledToolRecord[]>;
  /** Newest first. */
  listCatalogEvents(opts?: { tool?: string; limit?: number }): Promise<CatalogEventRecord[]>;
}

/** `pending` waits for a person; `expired` was never decided (or an approval was never used) in time. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** One request in the human approval queue. */
export interface ApprovalRecord {
  /** Random id shown to agents, supervisors and the CLI. */
  id: string;
  /** Identity name of the requester (the agent, or the token subject). */
  identity: string;
  spiffeId: string;
  /** Namespaced tool name. */
  tool: string;
  /** Hex SHA-256 of the canonical JSON of `arguments`: the approval is bound to it. */
  argsHash: string;
  /** JSON text of the validated arguments (kept on the connector for the supervisor to review). */
  arguments: string;
  /** Policy tier that sent the call here, usually `approve`. */
  tier: string;
  sessionId: string | null;
  status: ApprovalStatus;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  /** Who approved or denied it (console account or CLI operator). */
  decidedBy: string | null;
  reason: string | null;
  /** When the decision was delivered to the agent; an approval runs exactly one call. */
  consumedAt: number | null;
  /** A two-person (or more) rule: null (or absent) when one approval decides. */
  quorum?: ApprovalQuorumSpec | null;
  /** Decisions so far on a request with a quorum, oldest first (one per principal). */
  votes?: ApprovalVoteRecord[];
}

/** `count` distinct principals must approve, console accounts of `roles` when given. */
export interface ApprovalQuorumSpec {
  count: number;
  roles?: string[];
}

/** One principal's decision on a request with a quorum; each principal decides at most once. */
export interface ApprovalVoteRecord {
  /** Principal id (`console:<account>`, `local:<uid>@<host>`). */
  principal: string;
  /** Display name. */
  name: string;
  /** The principal's role when it decided (`admin` for `local:`). */
  role: string | null;
  decision: 'approved' | 'denied';
  reason: string | null;
  votedAt: number;
}

export type NewApprovalRecord = Omit<
  ApprovalRecord,
  'status' | 'decidedAt' | 'decidedBy' | 'reason' | 'consumedAt' | 'votes'
>;

/** `ok` with the request after the vote: still `pending` (more approvals needed), `approved` or `denied`. */
export type VoteApprovalResult =
  | { ok: true; approval: ApprovalRecord }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'decided' | 'expired' | 'duplicate'; approval: ApprovalRecord };

/** Break-glass: one exact blocked call (identity + tool + arguments hash) an admin allowed. */
export interface ApprovalOverrideRecord {
  id: string;
  identity: string;
  tool: string;
  argsHash: string;
  /** JSON text of the arguments (sealed at rest when the tenant vault key is available). */
  arguments: string;
  reason: string;
  requestedBy: string;
  requestedAt: number;
  /** The second admin; the override is usable only once confirmed. */
  confirmedBy: string | null;
  confirmedAt: number | null;
  expiresAt: number;
  /** When the one call it allows ran. */
  consumedAt: number | null;
}

export type NewApprovalOverride = Omit<ApprovalOverrideRecord, 'confirmedBy' | 'confirmedAt' | 'consumedAt'>;

export type ConfirmOverrideResult =
  | { ok: true; override: ApprovalOverrideRecord }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'confirmed' | 'expired' | 'consumed' | 'self'; override: ApprovalOverrideRecord };

export interface ApprovalOverrideRepository {
  createOverride(override: NewApprovalOverride): Promise<ApprovalOverrideRecord>;
  getOverride(id: string): Promise<ApprovalOverrideRecord | undefined>;
  /** Newest first. */
  listOverrides(opts?: { limit?: number }): Promise<ApprovalOverrideRecord[]>;
  /** Atomically confirms an unconfirmed, unexpired override by a principal other than its requester. */
  confirmOverride(id: string, by: string, at: number): Promise<ConfirmOverrideResult>;
  /** Atomically uses a confirmed, unexpired, unused override for exactly this call; at most one caller gets it. */
  consumeOverride(
    call: { identity: string; tool: string; argsHash: string },
    now: number,
  ): Promise<ApprovalOverrideRecord | undefined>;
}

export type DecideApprovalResult =
  | { ok: true; approval: ApprovalRecord }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'decided' | 'expired'; approval: ApprovalRecord };

export interface ApprovalRepository {
  createApproval(record: NewApprovalRecord): Promise<ApprovalRecord>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  /** Newest pending-or-undelivered, unexpired request for this binding. */
  findOpenApproval(
    identity: string,
    tool: string,
    argsHash: string,
    now: number,
  ): Promise<ApprovalRecord | undefined>;
  /** Newest first. */
  listApprovals(opts?: {
    status?: readonly ApprovalStatus[];
    tool?: string;
    identity?: string;
    limit?: number;
  }): Promise<ApprovalRecord[]>;
  countApprovals(status: ApprovalStatus): Promise<number>;
  /** Atomically decides a pending, unexpired request (exactly one decision wins). */
  decideApproval(
    id: string,
    decision: { status: 'approved' | 'denied'; decidedBy: string; reason: string | null; decidedAt: number },
  ): Promise<DecideApprovalResult>;
  /** Atomically marks a decided request delivered; true for exactly one caller. */
  consumeApproval(id: string, now: number): Promise<boolean>;
  /** Expires pending and unused approved requests past their expiry; returns how many. */
  expireApprovals(now: number): Promise<number>;
  /**
   * Records one principal's vote on a pending request with a quorum (exactly once per principal,
   * serialized per request): a denial decides at once, the `required`-th distinct approval approves.
   */
  voteApproval(id: string, vote: ApprovalVoteRecord, required: number): Promise<VoteApprovalResult>;
  /** Break-glass overrides of `block` (src/approvals/block-overrides.ts). */
  readonly overrides: ApprovalOverrideRepository;
}

/** `admin`: everything; `supervisor`: approvals and read-only pages; `auditor`: read-only pages. */
export type AdminRole = 'admin' | 'supervisor' | 'auditor';

/** A console account. */
export interface AdminAccountRecord {
  name: string;
  /** `scrypt$...` (see src/console/password-hash.ts). */
  passwordHash: string;
  role: AdminRole;
  /** May see argument values that look like personal data unmasked. */
  revealPii: boolean;
  createdAt: number;
  updatedAt: number;
  disabledAt: number | null;
}

export interface AdminAccountRepository {
  /** Creates the account or replaces its password, role and PII flag (re-enabling it). */
  putAdminAccount(
    account: { name: string; passwordHash: string; role: AdminRole; revealPii: boolean },
    now: number,
  ): Promise<'created' | 'updated'>;
  getAdminAccount(name: string): Promise<AdminAccountRecord | undefined>;
  listAdminAccounts(): Promise<AdminAccountRecord[]>;
  disableAdminAccount(name: string, now: number): Promise<boolean>;
}

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  readonly relay: RelayRepository;
  readonly identities: IdentityRepository;
  readonly policyVersions: PolicyVersionRepository;
  /** Audit ledger (connector) and audit witness (relay). */
  readonly audit: AuditRepository;
  /** PII vault (connector): tokens and their sealed values. */
  readonly vault: PiiVaultRepository;
  /** Tool catalog (connector): pinned definitions, kill switch, catalog events. */
  readonly catalog: CatalogRepository;
  /** Human approval queue (connector). */
  readonly approvals: ApprovalRepository;
  /** Console accounts (connector). */
  readonly adminAccounts: AdminAccountRepository;
  /** Change notifications between processes sharing this store (LISTEN/NOTIFY on PostgreSQL). */
  readonly changes: ChangeFeed;
  close(): Promise<void>;
}
