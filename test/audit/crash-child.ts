/**
 * Child process of the crash test: appends entries as fast as it can from several concurrent
 * writers and prints `{"seq":…,"hash":…}` on stdout for every append that resolved (stdout to a pipe
 * is synchronous on Linux, so an acknowledgement printed is an acknowledgement the parent sees).
 *
 * Usage: node crash-child.js <dataDir> <storeUrl> [schema]
 * With `AUDIT_WITNESS_URL` set, checkpoints (every 100 ms) go to that tlog-witness.
 */
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { TlogWitnessClient } from '../../src/audit/witness-client.js';
import { openStore } from '../../src/store/open-store.js';
import { requestEvent } from './audit-fixture.js';

const [dataDir, url, schema] = process.argv.slice(2);
if (!dataDir || !url) throw new Error('usage: crash-child <dataDir> <storeUrl> [schema]');
const key = await loadOrCreateAuditKey(dataDir);
const store = await openStore({ url, ...(schema ? { schema } : {}) });
const ledger = await AuditLedger.open({
  repository: store.audit,
  tenant: process.env.AUDIT_TENANT ?? 'acme',
  key,
  checkpointEvery: 50,
  checkpointIntervalMs: 100,
  ...(process.env.AUDIT_WITNESS_URL
    ? {
        witnesses: [new TlogWitnessClient({ url: process.env.AUDIT_WITNESS_URL })],
        witnessQueue: { retryMinMs: 20 },
      }
    : {}),
});
process.stdout.write('{"ready":true}\n');
let n = 0;
const writer = async () => {
  for (;;) {
    n += 1;
    const entry = await ledger.append(requestEvent(n));
    process.stdout.write(`${JSON.stringify({ seq: entry.seq, hash: entry.hash })}\n`);
  }
};
await Promise.all(Array.from({ length: 16 }, writer));
