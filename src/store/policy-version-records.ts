/** Accepted versions of the connector's policy file (see `store.ts`). All times are epoch milliseconds. */
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
