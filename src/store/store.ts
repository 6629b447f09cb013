/**
 * The storage interface. Everything Airlock persists goes through a `Store`; the relay and the
 * connector each open one. Repositories are written once in portable SQL against a `SqlDialect`
 * (see `dialect.ts`), and each backend (SQLite, PostgreSQL) only implements the dialect — the same
 * idea as kysely's `Dialect`. One test suite runs against every backend.
 *
 * All times are epoch milliseconds.
 */

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

  addConnector(record: Omit<ConnectorRecord, 'revokedAt'>): Promise<void>;
  getConnector(id: string): Promise<ConnectorRecord | undefined>;
  listConnectors(tenant?: string): Promise<ConnectorRecord[]>;
  revokeConnector(id: string, now: number): Promise<boolean>;
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

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  readonly relay: RelayRepository;
  readonly identities: IdentityRepository;
  readonly policyVersions: PolicyVersionRepository;
  /** Audit ledger (connector) and audit witness (relay). */
  readonly audit: AuditRepository;
  /** PII vault (connector): tokens and their sealed values. */
  readonly vault: PiiVaultRepository;
  close(): Promise<void>;
}
