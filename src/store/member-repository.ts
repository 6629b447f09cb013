/**
 * Heartbeats of the members of a connector pair: each member writes its own row every few seconds
 * (`src/connector/pair/member-heartbeat.ts`), and `airlock connector list` and the console read them
 * all. The row keeps the fields operators filter on as columns and the rest as JSON.
 *
 * @example
 * await store.members.putMember(record);
 * const members = await store.members.listMembers();
 */
import type { SqlDialect } from './dialect.js';
import type { MemberRecord, MemberRepository } from './store.js';

interface MemberRow {
  id: string;
  version: string;
  started_at: number;
  updated_at: number;
  state: string;
}

type MemberState = Omit<MemberRecord, 'id' | 'version' | 'startedAt' | 'updatedAt'>;

const COLUMNS = 'id, version, started_at, updated_at, state';

/** A heartbeat older than this is shown as stale (three missed beats of 5 s). */
export const DEFAULT_MEMBER_STALE_MS = 15_000;

/**
 * Whether a member's heartbeat is older than `staleAfterMs`: it stopped, or lost the store.
 *
 * @example
 * isStaleMember(member, Date.now()); // true after 15 s without a heartbeat
 */
export function isStaleMember(
  member: Pick<MemberRecord, 'updatedAt'>,
  now: number,
  staleAfterMs = DEFAULT_MEMBER_STALE_MS,
): boolean {
  return now - member.updatedAt > staleAfterMs;
}

export class SqlMemberRepository implements MemberRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  async putMember(record: MemberRecord): Promise<void> {
    const { id, version, startedAt, updatedAt, ...rest } = record;
    const state: MemberState = rest;
    await this.#db.run(
      `INSERT INTO pair_members (${COLUMNS}) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version, started_at = excluded.started_at,
         updated_at = excluded.updated_at, state = excluded.state`,
      [id, version, startedAt, updatedAt, JSON.stringify(state)],
    );
  }

  async getMember(id: string): Promise<MemberRecord | undefined> {
    const rows = await this.#db.query<MemberRow>(`SELECT ${COLUMNS} FROM pair_members WHERE id = ?`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async listMembers(): Promise<MemberRecord[]> {
    const rows = await this.#db.query<MemberRow>(`SELECT ${COLUMNS} FROM pair_members ORDER BY id`);
    return rows.map(toRecord);
  }

  async removeMember(id: string): Promise<boolean> {
    const { changes } = await this.#db.run('DELETE FROM pair_members WHERE id = ?', [id]);
    return changes > 0;
  }
}

function toRecord(row: MemberRow): MemberRecord {
  const state = JSON.parse(row.state) as Partial<MemberState>;
  return {
    id: row.id,
    version: row.version,
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
    host: String(state.host ?? ''),
    pid: Number(state.pid ?? 0),
    tunnels: { up: Number(state.tunnels?.up ?? 0), wanted: Number(state.tunnels?.wanted ?? 0) },
    upstreams: (state.upstreams ?? []).map((u) => ({ name: String(u.name), up: u.up === true })),
    auditSigner: state.auditSigner === true,
    ready: state.ready === true,
  };
}
