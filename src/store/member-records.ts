/** The members of a connector pair as they report themselves (heartbeats; see `store.ts`). All times are epoch milliseconds. */

/** One upstream as a member sees it. */
export interface MemberUpstreamState {
  name: string;
  up: boolean;
}

/** A member's last heartbeat: who it is and what it serves. */
export interface MemberRecord {
  /** The connector id given at enrollment (each member of a pair has its own). */
  id: string;
  /** The Airlock version the member runs. */
  version: string;
  /** Host name and process id, for operators. */
  host: string;
  pid: number;
  startedAt: number;
  /** When the member last wrote its heartbeat. */
  updatedAt: number;
  /** Tunnels to the relay that are up, and how many the member keeps. */
  tunnels: { up: number; wanted: number };
  upstreams: MemberUpstreamState[];
  /** Whether the member signs the audit trail's checkpoints now (the signer lease). */
  auditSigner: boolean;
  /** The member's own readiness (its `/readyz`). */
  ready: boolean;
}

export interface MemberRepository {
  /** Writes (or replaces) the member's heartbeat. */
  putMember(record: MemberRecord): Promise<void>;
  getMember(id: string): Promise<MemberRecord | undefined>;
  /** Every member that ever reported, by id. */
  listMembers(): Promise<MemberRecord[]>;
  /** Forgets a member (it left the pair). False when unknown. */
  removeMember(id: string): Promise<boolean>;
}
