/**
 * What an admin does with the tool catalog (the CLI `airlock tools …` and the connector's admin API both
 * use this): list every pinned tool with its state and scan findings, show the diff between the approved
 * and the served definition, approve it, and flip the kill switch.
 *
 * Changes are written to the store; a running connector reads the store's catalog revision on every
 * request (see `ToolPinning`), so it applies them on its next request. `onChange` lets an in-process
 * caller (the connector's admin API) push `notifications/tools/list_changed` at once.
 *
 * @example
 * const admin = new CatalogAdmin({ store: store.catalog, actor: 'alice' });
 * console.log((await admin.diff('erp.search')).patch);
 * await admin.approve('erp.search', { hash: 'a1b2c3d4' });
 * await admin.disable('erp.delete_customer', 'incident 42');
 */
import { createTwoFilesPatch } from 'diff';
import { prettyCanonical } from '../json/canonical-json.js';
import type {
  CatalogEventRecord,
  CatalogRepository,
  DisabledToolRecord,
  ToolPinRecord,
} from '../store/store.js';
import { CatalogError } from './catalog-error.js';
import { classifyDrift, type DriftClass, type DriftReport } from './drift-classify.js';
import { DEFAULT_QUARANTINE_SEVERITY, type PinState, pinState } from './pin-state.js';
import type { ScanFinding, ScanSeverity } from './poisoning-scan.js';

/** Default actor recorded for admin actions when none is given. */
export const DEFAULT_CATALOG_ACTOR = 'admin';
/** Shortest hash prefix accepted by `approve(tool, { hash })`. */
export const MIN_HASH_PREFIX = 8;

export interface CatalogAdminOptions {
  store: CatalogRepository;
  /** Who is acting (recorded with approvals and kill-switch changes). Default {@link DEFAULT_CATALOG_ACTOR}. */
  actor?: string;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Called after every change (e.g. to refresh a running connector at once). */
  onChange?: () => void | Promise<void>;
  /** Default {@link DEFAULT_QUARANTINE_SEVERITY}. */
  quarantineSeverity?: ScanSeverity;
}

/** One tool as an admin sees it. */
export interface CatalogEntry {
  tool: string;
  /** `disabled` when the kill switch is on, else the pin state. */
  status: PinState | 'disabled';
  pinState: PinState | undefined;
  approvedHash: string | null;
  approvedBy: string | null;
  approvedAt: number | null;
  observedHash: string | null;
  firstSeenAt: number | null;
  observedAt: number | null;
  findings: ScanFinding[];
  severity: ScanSeverity | undefined;
  disabled: DisabledToolRecord | undefined;
  /** For a definition changed since approval: `cosmetic`, `compatible` or `breaking` (see drift-classify.ts). */
  drift?: DriftClass;
}

export interface ToolDiff {
  tool: string;
  state: PinState;
  approvedHash: string | null;
  observedHash: string;
  /** True when the served definition differs from the approved one (or nothing was approved yet). */
  changed: boolean;
  /** Unified diff of the canonical JSON (one member per line): approved → served. */
  patch: string;
  /** What kind of change it is, when an approved definition was changed (absent for a new tool). */
  drift?: DriftReport;
  findings: ScanFinding[];
}

export class CatalogAdmin {
  readonly #store: CatalogRepository;
  readonly #actor: string;
  readonly #now: () => number;
  readonly #onChange: (() => void | Promise<void>) | undefined;
  readonly #threshold: ScanSeverity;

  constructor(options: CatalogAdminOptions) {
    this.#store = options.store;
    this.#actor = options.actor ?? DEFAULT_CATALOG_ACTOR;
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onChange;
    this.#threshold = options.quarantineSeverity ?? DEFAULT_QUARANTINE_SEVERITY;
  }

  /**
   * Every pinned or disabled tool, sorted by name.
   *
   * @example
   * for (const t of await admin.listCatalog()) console.log(t.tool, t.status);
   */
  async listCatalog(): Promise<CatalogEntry[]> {
    const snapshot = await this.#store.catalogSnapshot();
    const disabled = new Map(snapshot.disabled.map((d) => [d.tool, d]));
    const entries: CatalogEntry[] = snapshot.pins.map((pin) => {
      const derived = pinState(pin, this.#threshold);
      const off = disabled.get(pin.tool);
      disabled.delete(pin.tool);
      return {
        tool: pin.tool,
        status: off ? 'disabled' : derived.state,
        pinState: derived.state,
        approvedHash: pin.approvedHash,
        approvedBy: pin.approvedBy,
        approvedAt: pin.approvedAt,
        observedHash: pin.observedHash,
        firstSeenAt: pin.firstSeenAt,
        observedAt: pin.observedAt,
        findings: derived.findings,
        severity: derived.severity,
        disabled: off,
        ...(derived.state === 'changed' ? { drift: driftOf(pin)?.drift } : {}),
      };
    });
    for (const off of disabled.values()) {
      entries.push({
        tool: off.tool,
        status: 'disabled',
        pinState: undefined,
        approvedHash: null,
        approvedBy: null,
        approvedAt: null,
        observedHash: null,
        firstSeenAt: null,
        observedAt: null,
        findings: [],
        severity: undefined,
        disabled: off,
      });
    }
    return entries.sort((a, b) => (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0));
  }

  /**
   * The unified diff between the approved and the served definition of `tool`.
   *
   * @example
   * const { patch, changed } = await admin.diff('erp.search');
   */
  async diff(tool: string): Promise<ToolDiff> {
    const pin = await this.#pin(tool);
    const derived = pinState(pin, this.#threshold);
    const approved =
      pin.approvedDefinition === null ? '' : `${prettyCanonical(JSON.parse(pin.approvedDefinition))}\n`;
    const observed = `${prettyCanonical(JSON.parse(pin.observedDefinition))}\n`;
    const patch = createTwoFilesPatch(
      pin.approvedHash === null ? '/dev/null' : `${tool} (approved ${pin.approvedHash.slice(0, 12)})`,
      `${tool} (served ${pin.observedHash.slice(0, 12)})`,
      approved,
      observed,
      undefined,
      undefined,
      { context: 3 },
    );
    const drift = pin.approvedHash !== pin.observedHash ? driftOf(pin) : undefined;
    return {
      tool,
      state: derived.state,
      approvedHash: pin.approvedHash,
      observedHash: pin.observedHash,
      changed: pin.approvedHash !== pin.observedHash,
      patch,
      findings: derived.findings,
      ...(drift ? { drift } : {}),
    };
  }

  /**
   * Approves the definition the upstream serves now. `hash` (a prefix of at least
   * {@link MIN_HASH_PREFIX} hex characters, as shown by `diff`) makes sure it is the definition that was
   * reviewed: when the upstream changed it again meanwhile, `AIRLOCK_CATALOG_STALE` is thrown.
   *
   * @example
   * await admin.approve('erp.search', { hash: diff.observedHash });
   */
  async approve(tool: string, opts: { by?: string; hash?: string } = {}): Promise<ToolPinRecord> {
    const pin = await this.#pin(tool);
    let expectedHash: string | undefined;
    if (opts.hash !== undefined) {
      const prefix = opts.hash.toLowerCase();
      if (!/^[0-9a-f]+$/.test(prefix) || prefix.length < MIN_HASH_PREFIX) {
        throw new CatalogError(
          'AIRLOCK_CATALOG_BAD_INPUT',
          `--hash must be at least ${MIN_HASH_PREFIX} hex characters of the served definition's hash`,
        );
      }
      if (!pin.observedHash.startsWith(prefix)) throw stale(tool, pin.observedHash);
      expectedHash = pin.observedHash;
    } else {
      expectedHash = pin.observedHash;
    }
    if (pin.approvedHash === pin.observedHash) {
      throw new CatalogError(
        'AIRLOCK_CATALOG_NOTHING_TO_APPROVE',
        `tool '${tool}' is already approved at ${pin.observedHash.slice(0, 12)}`,
      );
    }
    const result = await this.#store.approveTool(tool, {
      by: opts.by ?? this.#actor,
      at: this.#now(),
      expectedHash,
    });
    if (result.status === 'unknown') throw unknown(tool);
    if (result.status === 'stale') throw stale(tool, result.observedHash);
    await this.#onChange?.();
    return result.record;
  }

  /**
   * Kill switch: refuses `tool` for every agent from the next request on, and hides it. A tool not (yet)
   * seen in the catalog can be disabled too.
   *
   * @example
   * await admin.disable('erp.delete_customer', 'incident 42');
   */
  async disable(tool: string, reason: string, opts: { by?: string } = {}): Promise<DisabledToolRecord> {
    if (tool.trim() === '') throw new CatalogError('AIRLOCK_CATALOG_BAD_INPUT', 'a tool name is required');
    const record: DisabledToolRecord = {
      tool,
      reason: reason.trim() === '' ? 'disabled by an admin' : reason,
      disabledBy: opts.by ?? this.#actor,
      disabledAt: this.#now(),
    };
    await this.#store.disableTool(record);
    await this.#onChange?.();
    return record;
  }

  /** Kill switch off. False when the tool was not disabled. */
  async enable(tool: string, opts: { by?: string } = {}): Promise<boolean> {
    const changed = await this.#store.enableTool(tool, opts.by ?? this.#actor, this.#now());
    if (changed) await this.#onChange?.();
    return changed;
  }

  /** The catalog log, newest first. */
  events(opts: { tool?: string; limit?: number } = {}): Promise<CatalogEventRecord[]> {
    return this.#store.listCatalogEvents(opts);
  }

  async #pin(tool: string): Promise<ToolPinRecord> {
    const pin = await this.#store.getToolPin(tool);
    if (!pin) throw unknown(tool);
    return pin;
  }
}

/** The drift class of a pin whose served definition differs from its approved one. */
export function driftOf(pin: ToolPinRecord): DriftReport | undefined {
  if (pin.approvedDefinition === null) return undefined;
  try {
    return classifyDrift(JSON.parse(pin.approvedDefinition), JSON.parse(pin.observedDefinition));
  } catch {
    return {
      drift: 'breaking',
      changes: [{ path: '', drift: 'breaking', message: 'stored definition unreadable' }],
    };
  }
}

function unknown(tool: string): CatalogError {
  return new CatalogError(
    'AIRLOCK_CATALOG_TOOL_UNKNOWN',
    `no tool named '${tool}' has been seen by the connector (see "airlock tools list")`,
  );
}

function stale(tool: string, observedHash: string): CatalogError {
  return new CatalogError(
    'AIRLOCK_CATALOG_STALE',
    `the definition of '${tool}' changed again (now ${observedHash.slice(0, 12)}); review "airlock tools diff ${tool}" and approve again`,
  );
}
