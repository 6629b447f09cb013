/**
 * Child process of the write-ahead test: one tool call through the audit stages whose upstream
 * performs a side effect (creates `<marker>`) and then never answers. The parent kills this process
 * with SIGKILL once the side effect happened.
 *
 * Usage: node intent-crash-child.js <dataDir> <marker> <storeUrl> [schema]
 */
import { writeFile } from 'node:fs/promises';
import { loadOrCreateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { auditStage } from '../../src/gateway/stages/audit-stage.js';
import { upstreamTiming } from '../../src/gateway/stages/upstream-timing-stage.js';
import { openStore } from '../../src/store/open-store.js';
import { requestContext } from '../gateway/request-context.js';

const [dataDir, marker, url, schema] = process.argv.slice(2);
if (!dataDir || !marker || !url)
  throw new Error('usage: intent-crash-child <dataDir> <marker> <storeUrl> [schema]');
const key = await loadOrCreateAuditKey(dataDir);
const store = await openStore({ url, ...(schema ? { schema } : {}) });
const ledger = await AuditLedger.open({
  repository: store.audit,
  tenant: 'acme',
  key,
  checkpointIntervalMs: 0,
});
const slowWrite = async () => {
  await writeFile(marker, 'the upstream wrote');
  // A slow side-effecting call: still running (a live timer keeps the process up) when it is killed.
  await new Promise(() => setInterval(() => {}, 1_000));
};
const handler = auditStage({ ledger })(upstreamTiming()(slowWrite));
process.stdout.write('{"ready":true}\n');
await handler(
  requestContext(
    'tools/call',
    { name: 'erp.delete_invoice', arguments: { invoice: 'INV-4711' } },
    { era: 'legacy' },
  ),
);
