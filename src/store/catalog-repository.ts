/**
 * The connector's tool catalog state: one pin per namespaced tool (the approved definition and the one
 * the upstream serves now), the kill switch (disabled tools), and an append-only log of catalog events.
 * Hashing, scanning and the runtime decisions live in src/catalog/; this only stores rows.
 *
 * Every change bumps a single `catalog_revision` counter in the same transaction, so a running connector
 * notices a change made by another process (`airlock tools disable`, a second connector) with one tiny
 * read per request, and reloads the full state only when it changed. Each event's `seq` is the revision
 * its change produced.
 *
 * @example
 * const catalog = new SqlCatalogRepository(dialect);
 * await catalog.observeTool({ tool: 'erp.search', hash, definition, findings: '[]', at: Date.now(), autoApprove: true });
 * await catalog.disableTool({ tool: 'erp.search', reason: 'incident 42', disabledBy: 'alice', disabledAt: Date.now() });
 * const { revision, pins, disabled } = await catalog.catalogSnapshot();
 */
import type { SqlDialect, SqlExecutor } from './dialect.js';
import type {
  ApproveToolResult,
  CatalogEventRecord,
  CatalogRepository,
  CatalogSnapshot,
  DisabledToolRecord,
  ObserveToolInput,
  ObserveToolResult,
  ToolPinRecord,
} from './store.js';

/** Events returned by `listCatalogEvents` when no limit is given. */
export const DEFAULT_CATALOG_EVENT_LIST_LIMIT = 100;

interface PinRow {
  tool: string;
  approved_hash: string | null;
  approved_definition: string | null;
  approved_at: number | null;
  approved_by: string | null;
  observed_hash: string;
  observed_definition: string;
  observed_findings: string;
  first_seen_at: number;
  observed_at: number;
}

interface DisabledRow {
  tool: string;
  reason: string;
  disabled_by: string;
  disabled_at: number;
}

interface EventRow {
  seq: number;
  tool: string;
  action: string;
  hash: string | null;
  actor: string;
  detail: string;
  at: number;
}

const PIN_COLUMNS =
  'tool, approved_hash, approved_definition, approved_at, approved_by, observed_hash, observed_definition, observed_findings, first_seen_at, observed_at';
const DISABLED_COLUMNS = 'tool, reason, disabled_by, disabled_at';
const EVENT_COLUMNS = 'seq, tool, action, hash, actor, detail, at';

export class SqlCatalogRepository implements CatalogRepository {
  readonly #db: SqlDialect;

  constructor(db: SqlDialect) {
    this.#db = db;
  }

  async catalogRevision(): Promise<number> {
    const rows = await this.#db.query<{ revision: number }>(
      'SELECT revision FROM catalog_revision WHERE id = 1',
    );
    return Number(rows[0]?.revision ?? 0);
  }

  async catalogSnapshot(): Promise<CatalogSnapshot> {
    return this.#db.transaction(async (tx) => {
      const rev = await tx.query<{ revision: number }>('SELECT revision FROM catalog_revision WHERE id = 1');
      const pins = await tx.query<PinRow>(`SELECT ${PIN_COLUMNS} FROM tool_pins ORDER BY tool`);
      const disabled = await tx.query<DisabledRow>(
        `SELECT ${DISABLED_COLUMNS} FROM disabled_tools ORDER BY tool`,
      );
      return {
        revision: Number(rev[0]?.revision ?? 0),
        pins: pins.map(toPin),
        disabled: disabled.map(toDisabled),
      };
    });
  }

  async getToolPin(tool: string): Promise<ToolPinRecord | undefined> {
    const rows = await this.#db.query<PinRow>(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE tool = ?`, [tool]);
    return rows[0] && toPin(rows[0]);
  }

  async observeTool(input: ObserveToolInput): Promise<ObserveToolResult> {
    return this.#db.transaction(async (tx) => {
      let change: ObserveToolResult['change'] = 'unchanged';
      const inserted = await tx.run(
        `INSERT INTO tool_pins (${PIN_COLUMNS}) VALUES (?, NULL, NULL, NULL, NULL, ?, ?, ?, ?, ?) ON CONFLICT (tool) DO NOTHING`,
        [input.tool, input.hash, input.definition, input.findings, input.at, input.at],
      );
      if (inserted.changes > 0) {
        change = 'first-seen';
        await event(tx, input.tool, 'first-seen', input.hash, 'connector', input.findings, input.at);
      } else {
        const updated = await tx.run(
          'UPDATE tool_pins SET observed_hash = ?, observed_definition = ?, observed_findings = ?, observed_at = ? WHERE tool = ? AND observed_hash <> ?',
          [input.hash, input.definition, input.findings, input.at, input.tool, input.hash],
        );
        if (updated.changes > 0) {
          change = 'changed';
          await event(tx, input.tool, 'changed', input.hash, 'connector', input.findings, input.at);
        }
      }
      if (input.autoApprove) {
        const pinned = await tx.run(
          'UPDATE tool_pins SET approved_hash = observed_hash, approved_definition = observed_definition, approved_at = ?, approved_by = ? WHERE tool = ? AND approved_hash IS NULL AND observed_hash = ?',
          [input.at, 'tofu', input.tool, input.hash],
        );
        if (pinned.changes > 0) {
          change = 'pinned';
          await event(tx, input.tool, 'pinned', input.hash, 'tofu', '', input.at);
        }
      }
      const rows = await tx.query<PinRow>(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE tool = ?`, [
        input.tool,
      ]);
      return { record: toPin(rows[0] as PinRow), change };
    });
  }

  async approveTool(
    tool: string,
    opts: { by: string; at: number; expectedHash?: string },
  ): Promise<ApproveToolResult> {
    return this.#db.transaction(async (tx) => {
      const rows = await tx.query<PinRow>(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE tool = ?`, [tool]);
      const row = rows[0];
      if (!row) return { status: 'unknown' };
      if (opts.expectedHash !== undefined && row.observed_hash !== opts.expectedHash) {
        return { status: 'stale', observedHash: row.observed_hash };
      }
      await tx.run(
        'UPDATE tool_pins SET approved_hash = ?, approved_definition = ?, approved_at = ?, approved_by = ? WHERE tool = ?',
        [row.observed_hash, row.observed_definition, opts.at, opts.by, tool],
      );
      await event(tx, tool, 'approved', row.observed_hash, opts.by, '', opts.at);
      const after = await tx.query<PinRow>(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE tool = ?`, [tool]);
      return { status: 'approved', record: toPin(after[0] as PinRow) };
    });
  }

  async disableTool(record: DisabledToolRecord): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO disabled_tools (${DISABLED_COLUMNS}) VALUES (?, ?, ?, ?) ON CONFLICT (tool) DO UPDATE SET reason = excluded.reason, disabled_by = excluded.disabled_by, disabled_at = excluded.disabled_at`,
        [record.tool, record.reason, record.disabledBy, record.disabledAt],
      );
      await event(tx, record.tool, 'disabled', null, record.disabledBy, record.reason, record.disabledAt);
    });
  }

  async enableTool(tool: string, by: string, at: number): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const { changes } = await tx.run('DELETE FROM disabled_tools WHERE tool = ?', [tool]);
      if (changes === 0) return false;
      await event(tx, tool, 'enabled', null, by, '', at);
      return true;
    });
  }

  async listDisabledTools(): Promise<DisabledToolRecord[]> {
    const rows = await this.#db.query<DisabledRow>(
      `SELECT ${DISABLED_COLUMNS} FROM disabled_tools ORDER BY tool`,
    );
    return rows.map(toDisabled);
  }

  /** Newest first; `limit` defaults to {@link DEFAULT_CATALOG_EVENT_LIST_LIMIT}. */
  async listCatalogEvents(opts: { tool?: string; limit?: number } = {}): Promise<CatalogEventRecord[]> {
    const limit = Math.max(1, Math.trunc(opts.limit ?? DEFAULT_CATALOG_EVENT_LIST_LIMIT));
    const rows =
      opts.tool === undefined
        ? await this.#db.query<EventRow>(
            `SELECT ${EVENT_COLUMNS} FROM catalog_events ORDER BY seq DESC LIMIT ?`,
            [limit],
          )
        : await this.#db.query<EventRow>(
            `SELECT ${EVENT_COLUMNS} FROM catalog_events WHERE tool = ? ORDER BY seq DESC LIMIT ?`,
            [opts.tool, limit],
          );
    return rows.map((r) => ({
      seq: Number(r.seq),
      tool: r.tool,
      action: r.action as CatalogEventRecord['action'],
      hash: r.hash,
      actor: r.actor,
      detail: r.detail,
      at: Number(r.at),
    }));
  }
}

/** Bumps the revision and logs the event under the new revision number. */
async function event(
  tx: SqlExecutor,
  tool: string,
  action: CatalogEventRecord['action'],
  hash: string | null,
  actor: string,
  detail: string,
  at: number,
): Promise<void> {
  await tx.run('UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1');
  const rows = await tx.query<{ revision: number }>('SELECT revision FROM catalog_revision WHERE id = 1');
  await tx.run(`INSERT INTO catalog_events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
    Number(rows[0]?.revision ?? 0),
    tool,
    action,
    hash,
    actor,
    detail,
    at,
  ]);
}

function toPin(r: PinRow): ToolPinRecord {
  return {
    tool: r.tool,
    approvedHash: r.approved_hash,
    approvedDefinition: r.approved_definition,
    approvedAt: r.approved_at === null ? null : Number(r.approved_at),
    approvedBy: r.approved_by,
    observedHash: r.observed_hash,
    observedDefinition: r.observed_definition,
    observedFindings: r.observed_findings,
    firstSeenAt: Number(r.first_seen_at),
    observedAt: Number(r.observed_at),
  };
}

function toDisabled(r: DisabledRow): DisabledToolRecord {
  return { tool: r.tool, reason: r.reason, disabledBy: r.disabled_by, disabledAt: Number(r.disabled_at) };
}
