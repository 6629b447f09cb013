/** Agent identities and revoked credentials (see `store.ts`). All times are epoch milliseconds. */
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
