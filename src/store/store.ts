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
}

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

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  readonly relay: RelayRepository;
  readonly identities: IdentityRepository;
  readonly policyVersions: PolicyVersionRepository;
  close(): Promise<void>;
}
