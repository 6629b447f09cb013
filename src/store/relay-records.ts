/** The relay's rows: tenants, enrollment tokens, connectors and the tenant CA pins (see `store.ts`). All times are epoch milliseconds. */
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
