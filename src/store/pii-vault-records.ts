/** The PII vault's rows (see `store.ts`). All times are epoch milliseconds. */
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
