/** Break-glass overrides of `block` (see `store.ts`). All times are epoch milliseconds. */
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
