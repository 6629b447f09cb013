/**
 * The connector's agent identities: one row per issued client certificate (keyed by serial), so an
 * agent name can hold several certificates over time (rotation) and revocation covers them all.
 *
 * @example
 * const identities = new SqlIdentityRepository(dialect);
 * const id = await identities.getIdentityBySerial(peerCert.serialNumber.toLowerCase());
 * if (!id || id.revokedAt !== null) refuse();
 */
import { StoreError } from '../errors/airlock-error.js';
import { type SqlDialect, STORE_ERROR_CODES } from './dialect.js';
import type { AgentIdentityRecord, IdentityRepository, RevokedCredential } from './store.js';

interface IdentityRow {
  name: string;
  spiffe_id: string;
  cert_serial: string;
  cert_fingerprint: string;
  not_after: number;
  created_at: number;
  revoked_at: number | null;
}

const COLUMNS = 'name, spiffe_id, cert_serial, cert_fingerprint, not_after, created_at, revoked_at';

export class SqlIdentityRepository implements IdentityRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  /** Records an issued certificate (serial stored lowercase). Throws `StoreError` `AIRLOCK_STORE_DUPLICATE` for a reused serial. */
  async addIdentity(record: Omit<AgentIdentityRecord, 'revokedAt'>): Promise<void> {
    try {
      await this.#db.run(`INSERT INTO agent_identities (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL)`, [
        record.name,
        record.spiffeId,
        record.certSerial.toLowerCase(),
        record.certFingerprint,
        record.notAfter,
        record.createdAt,
      ]);
    } catch (err) {
      if (err instanceof StoreError && err.code === STORE_ERROR_CODES.duplicate) {
        throw new StoreError(err.code, `certificate serial ${record.certSerial} is already recorded`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** The most recently issued certificate of `name` (revoked or not). */
  async getIdentity(name: string): Promise<AgentIdentityRecord | undefined> {
    const rows = await this.#db.query<IdentityRow>(
      `SELECT ${COLUMNS} FROM agent_identities WHERE name = ? ORDER BY created_at DESC, cert_serial DESC LIMIT 1`,
      [name],
    );
    return rows[0] && toIdentity(rows[0]);
  }

  /** The certificate with this serial (lowercase hex), revoked or not. */
  async getIdentityBySerial(certSerial: string): Promise<AgentIdentityRecord | undefined> {
    const rows = await this.#db.query<IdentityRow>(
      `SELECT ${COLUMNS} FROM agent_identities WHERE cert_serial = ?`,
      [certSerial.toLowerCase()],
    );
    return rows[0] && toIdentity(rows[0]);
  }

  /** Every issued certificate, by name, newest first within a name. */
  async listIdentities(): Promise<AgentIdentityRecord[]> {
    const rows = await this.#db.query<IdentityRow>(
      `SELECT ${COLUMNS} FROM agent_identities ORDER BY name, created_at DESC, cert_serial DESC`,
    );
    return rows.map(toIdentity);
  }

  /** Revokes every certificate issued for `name` (keeping earlier revocation times). False when none exists. */
  async revokeIdentity(name: string, now: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      'UPDATE agent_identities SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?',
      [now, name],
    );
    return changes > 0;
  }

  /** Revokes tokens of `subject` from `issuer` (keeping an earlier revocation time). True when newly revoked. */
  async revokeSubject(issuer: string, subject: string, now: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      `INSERT INTO revoked_token_subjects (issuer, subject, revoked_at) VALUES (?, ?, ?)
       ON CONFLICT (issuer, subject) DO NOTHING`,
      [issuer, subject, now],
    );
    return changes > 0;
  }

  /** Lifts a subject's revocation. False when it was not revoked. */
  async reinstateSubject(issuer: string, subject: string): Promise<boolean> {
    const { changes } = await this.#db.run(
      'DELETE FROM revoked_token_subjects WHERE issuer = ? AND subject = ?',
      [issuer, subject],
    );
    return changes > 0;
  }

  async isSubjectRevoked(issuer: string, subject: string): Promise<boolean> {
    const rows = await this.#db.query<{ one: number }>(
      'SELECT 1 AS one FROM revoked_token_subjects WHERE issuer = ? AND subject = ?',
      [issuer, subject],
    );
    return rows.length > 0;
  }

  /** Certificates and token subjects revoked at or after `since` (both indexed on `revoked_at`), oldest first. */
  async listRevokedSince(since: number): Promise<RevokedCredential[]> {
    const certs = await this.#db.query<{ name: string; cert_serial: string; revoked_at: number }>(
      'SELECT name, cert_serial, revoked_at FROM agent_identities WHERE revoked_at >= ?',
      [since],
    );
    const subjects = await this.#db.query<{ issuer: string; subject: string; revoked_at: number }>(
      'SELECT issuer, subject, revoked_at FROM revoked_token_subjects WHERE revoked_at >= ?',
      [since],
    );
    const out: RevokedCredential[] = [
      ...certs.map((r) => ({
        kind: 'certificate' as const,
        name: r.name,
        certSerial: r.cert_serial,
        revokedAt: Number(r.revoked_at),
      })),
      ...subjects.map((r) => ({
        kind: 'subject' as const,
        issuer: r.issuer,
        subject: r.subject,
        revokedAt: Number(r.revoked_at),
      })),
    ];
    return out.sort((a, b) => a.revokedAt - b.revokedAt);
  }
}

function toIdentity(row: IdentityRow): AgentIdentityRecord {
  return {
    name: row.name,
    spiffeId: row.spiffe_id,
    certSerial: row.cert_serial,
    certFingerprint: row.cert_fingerprint,
    notAfter: Number(row.not_after),
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}
