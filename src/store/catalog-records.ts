/** Tool pins, the kill switch and the catalog log (see `store.ts`). All times are epoch milliseconds. */
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
