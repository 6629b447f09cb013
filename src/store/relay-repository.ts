/**
 * The relay's records: tenants, single-use enrollment tokens, enrolled connectors. Portable SQL over
 * any `SqlDialect`.
 *
 * @example
 * const relay = new SqlRelayRepository(dialect);
 * await relay.addTenant('acme', Date.now());
 * const result = await relay.consumeEnrollmentToken(id, sha256hex(secret), Date.now());
 */
import { timingSafeEqual } from 'node:crypto';
import { StoreError } from '../errors/airlock-error.js';
import { type SqlDialect, STORE_ERROR_CODES } from './dialect.js';
import type {
  ConnectorRecord,
  ConsumeTokenResult,
  EnrollmentTokenRecord,
  RelayRepository,
  TenantCaPin,
  TenantRecord,
} from './store.js';

interface TenantRow {
  name: string;
  created_at: number;
}

interface TokenRow {
  id: string;
  tenant: string;
  secret_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

interface ConnectorRow {
  id: string;
  tenant: string;
  key_fingerprint: string;
  cert_serial: string;
  enrolled_at: number;
  revoked_at: number | null;
  bound_ca_fingerprint: string | null;
  last_seen_at: number | null;
}

interface PinRow {
  tenant: string;
  ca_cert_pem: string;
  ca_fingerprint: string;
  pinned_at: number;
}

const TOKEN_COLUMNS = 'id, tenant, secret_hash, created_at, expires_at, used_at';
const CONNECTOR_COLUMNS =
  'id, tenant, key_fingerprint, cert_serial, enrolled_at, revoked_at, bound_ca_fingerprint, last_seen_at';
const PIN_COLUMNS = 'tenant, ca_cert_pem, ca_fingerprint, pinned_at';

export class SqlRelayRepository implements RelayRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  /** Adds a tenant. Throws `StoreError` `AIRLOCK_STORE_DUPLICATE` when it already exists. */
  async addTenant(name: string, now: number): Promise<TenantRecord> {
    try {
      await this.#db.run('INSERT INTO tenants (name, created_at) VALUES (?, ?)', [name, now]);
    } catch (err) {
      throw renamed(err, STORE_ERROR_CODES.duplicate, `tenant ${JSON.stringify(name)} already exists`);
    }
    return { name, createdAt: now };
  }

  async getTenant(name: string): Promise<TenantRecord | undefined> {
    const rows = await this.#db.query<TenantRow>('SELECT name, created_at FROM tenants WHERE name = ?', [
      name,
    ]);
    return rows[0] && toTenant(rows[0]);
  }

  async listTenants(): Promise<TenantRecord[]> {
    const rows = await this.#db.query<TenantRow>('SELECT name, created_at FROM tenants ORDER BY name');
    return rows.map(toTenant);
  }

  /** Removes a tenant with its tokens and connectors. Returns false when it did not exist. */
  async removeTenant(name: string): Promise<boolean> {
    const { changes } = await this.#db.run('DELETE FROM tenants WHERE name = ?', [name]);
    return changes > 0;
  }

  /**
   * Stores a token (only the hash of its secret). Throws `StoreError` `AIRLOCK_STORE_REFERENCE` for an
   * unknown tenant and `AIRLOCK_STORE_DUPLICATE` for a reused id.
   */
  async createEnrollmentToken(token: Omit<EnrollmentTokenRecord, 'usedAt'>): Promise<void> {
    try {
      await this.#db.run(
        'INSERT INTO enrollment_tokens (id, tenant, secret_hash, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, NULL)',
        [token.id, token.tenant, token.secretHash, token.createdAt, token.expiresAt],
      );
    } catch (err) {
      throw renamed(err, STORE_ERROR_CODES.reference, `unknown tenant ${JSON.stringify(token.tenant)}`);
    }
  }

  /**
   * Atomically marks a token used; exactly one caller can ever get `ok: true` for a given id.
   * The secret hash is compared in constant time first, so a wrong secret learns nothing about the
   * token's state (`mismatch` wins over `used` / `expired`). Then one conditional UPDATE claims the
   * token; when it matches no row, the row is read again to tell `used` from `expired`.
   */
  async consumeEnrollmentToken(id: string, secretHash: string, now: number): Promise<ConsumeTokenResult> {
    const before = await this.#getToken(id);
    if (!before) return { ok: false, reason: 'unknown' };
    if (!sameSecret(before.secret_hash, secretHash)) return { ok: false, reason: 'mismatch' };
    const { changes } = await this.#db.run(
      'UPDATE enrollment_tokens SET used_at = ? WHERE id = ? AND secret_hash = ? AND used_at IS NULL AND expires_at > ?',
      [now, id, before.secret_hash, now],
    );
    if (changes === 1) return { ok: true, token: { ...toToken(before), usedAt: now } };
    const after = await this.#getToken(id);
    if (!after) return { ok: false, reason: 'unknown' };
    if (after.used_at !== null) return { ok: false, reason: 'used' };
    return { ok: false, reason: 'expired' };
  }

  /**
   * Records an enrolled connector. Throws `StoreError` `AIRLOCK_STORE_REFERENCE` for an unknown
   * tenant and `AIRLOCK_STORE_DUPLICATE` for a reused id.
   */
  async addConnector(record: Omit<ConnectorRecord, 'revokedAt' | 'lastSeenAt'>): Promise<void> {
    try {
      await this.#db.run(
        `INSERT INTO connectors (${CONNECTOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, ?, NULL)`,
        [
          record.id,
          record.tenant,
          record.keyFingerprint,
          record.certSerial,
          record.enrolledAt,
          record.boundCaFingerprint,
        ],
      );
    } catch (err) {
      throw renamed(err, STORE_ERROR_CODES.reference, `unknown tenant ${JSON.stringify(record.tenant)}`);
    }
  }

  async getConnector(id: string): Promise<ConnectorRecord | undefined> {
    const rows = await this.#db.query<ConnectorRow>(
      `SELECT ${CONNECTOR_COLUMNS} FROM connectors WHERE id = ?`,
      [id],
    );
    return rows[0] && toConnector(rows[0]);
  }

  /** Every connector (of `tenant`, when given), oldest enrollment first. */
  async listConnectors(tenant?: string): Promise<ConnectorRecord[]> {
    const rows =
      tenant === undefined
        ? await this.#db.query<ConnectorRow>(
            `SELECT ${CONNECTOR_COLUMNS} FROM connectors ORDER BY enrolled_at, id`,
          )
        : await this.#db.query<ConnectorRow>(
            `SELECT ${CONNECTOR_COLUMNS} FROM connectors WHERE tenant = ? ORDER BY enrolled_at, id`,
            [tenant],
          );
    return rows.map(toConnector);
  }

  /** Revokes a connector (the first revocation time is kept). Returns false when it does not exist. */
  async revokeConnector(id: string, now: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      'UPDATE connectors SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?',
      [now, id],
    );
    return changes > 0;
  }

  async touchConnector(id: string, now: number): Promise<void> {
    await this.#db.run('UPDATE connectors SET last_seen_at = ? WHERE id = ?', [now, id]);
  }

  async getTenantCaPin(tenant: string): Promise<TenantCaPin | undefined> {
    const rows = await this.#db.query<PinRow>(`SELECT ${PIN_COLUMNS} FROM tenant_ca_pins WHERE tenant = ?`, [
      tenant,
    ]);
    return rows[0] && toPin(rows[0]);
  }

  /**
   * First writer wins: a concurrent or later pin of another CA leaves the first in force (the caller
   * compares fingerprints). Throws `StoreError` `AIRLOCK_STORE_REFERENCE` for an unknown tenant.
   */
  async pinTenantCa(pin: TenantCaPin): Promise<TenantCaPin> {
    try {
      await this.#db.run(`INSERT INTO tenant_ca_pins (${PIN_COLUMNS}) VALUES (?, ?, ?, ?)`, [
        pin.tenant,
        pin.caCertPem,
        pin.caFingerprint,
        pin.pinnedAt,
      ]);
      return pin;
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== STORE_ERROR_CODES.duplicate) {
        throw renamed(err, STORE_ERROR_CODES.reference, `unknown tenant ${JSON.stringify(pin.tenant)}`);
      }
    }
    const current = await this.getTenantCaPin(pin.tenant);
    if (!current)
      throw new StoreError(STORE_ERROR_CODES.reference, `unknown tenant ${JSON.stringify(pin.tenant)}`);
    return current;
  }

  async #getToken(id: string): Promise<TokenRow | undefined> {
    const rows = await this.#db.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE id = ?`,
      [id],
    );
    return rows[0];
  }
}

function sameSecret(stored: string, given: string): boolean {
  const a = Buffer.from(stored, 'utf8');
  const b = Buffer.from(typeof given === 'string' ? given : '', 'utf8');
  // Compare against itself when lengths differ so the time taken does not depend on the guess.
  return a.length === b.length ? timingSafeEqual(a, b) : !timingSafeEqual(a, a);
}

/** Gives constraint errors a message naming the record; keeps the stable code of the original. */
function renamed(err: unknown, code: string, message: string): unknown {
  if (err instanceof StoreError && err.code === code) return new StoreError(code, message, { cause: err });
  if (err instanceof StoreError && err.code === STORE_ERROR_CODES.duplicate) {
    return new StoreError(err.code, `duplicate id: ${err.message}`, { cause: err });
  }
  return err;
}

function toTenant(row: TenantRow): TenantRecord {
  return { name: row.name, createdAt: Number(row.created_at) };
}

function toToken(row: TokenRow): EnrollmentTokenRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    secretHash: row.secret_hash,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
  };
}

function toConnector(row: ConnectorRow): ConnectorRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    keyFingerprint: row.key_fingerprint,
    certSerial: row.cert_serial,
    enrolledAt: Number(row.enrolled_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    boundCaFingerprint: row.bound_ca_fingerprint ?? null,
    lastSeenAt: row.last_seen_at === null || row.last_seen_at === undefined ? null : Number(row.last_seen_at),
  };
}

function toPin(row: PinRow): TenantCaPin {
  return {
    tenant: row.tenant,
    caCertPem: row.ca_cert_pem,
    caFingerprint: row.ca_fingerprint,
    pinnedAt: Number(row.pinned_at),
  };
}
