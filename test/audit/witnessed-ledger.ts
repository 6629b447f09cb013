/**
 * An audit ledger on a fresh store of a test backend whose checkpoints go to a test tlog-witness that
 * trusts the ledger's key. The store and its raw connection close with the suite's `cleanups`.
 *
 * @example
 * const { store, raw, ledger } = await openWitnessedLedger(
 *   { backend, witness: w, cleanups },
 *   { tenant: 'acme', key, checkpointEvery: 5 },
 * );
 */
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { auditOrigin } from '../../src/audit/audit-signing.js';
import type { AuditLedgerOptions } from '../../src/audit/ledger-options.js';
import { TlogWitnessClient } from '../../src/audit/witness-client.js';
import type { SqlDialect } from '../../src/store/dialect.js';
import type { Store } from '../../src/store/store.js';
import type { TestBackend } from './audit-fixture.js';
import type { TestWitness } from './witness-fixture.js';

/** Where the ledger lives and who closes it. */
export interface WitnessedLedgerPlace {
  backend: TestBackend;
  witness: TestWitness;
  cleanups: (() => Promise<unknown>)[];
}

/** The ledger's options without its repository and witnesses; `witnessUrl` defaults to the witness's. */
export type WitnessedLedgerOptions = Omit<AuditLedgerOptions, 'repository' | 'witnesses'> & {
  witnessUrl?: string;
  witnessTimeoutMs?: number;
};

/** Opens the ledger (the witness now trusts `key` for the tenant's origin). */
export async function openWitnessedLedger(
  place: WitnessedLedgerPlace,
  options: WitnessedLedgerOptions,
): Promise<{ store: Store; raw: SqlDialect; ledger: AuditLedger }> {
  const { witnessUrl = place.witness.url, witnessTimeoutMs, ...ledgerOptions } = options;
  const db = await place.backend.fresh();
  const store = await db.open();
  const raw = await db.raw();
  place.cleanups.push(
    () => store.close(),
    () => raw.close(),
  );
  place.witness.trust(auditOrigin(options.tenant), options.key.publicKey);
  const client = new TlogWitnessClient({
    url: witnessUrl,
    ...(witnessTimeoutMs === undefined ? {} : { timeoutMs: witnessTimeoutMs }),
  });
  const ledger = await AuditLedger.open({
    repository: store.audit,
    checkpointIntervalMs: 0,
    witnesses: [client],
    ...ledgerOptions,
  });
  return { store, raw, ledger };
}
