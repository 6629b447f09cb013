/**
 * The sample ERP (Node.js + better-sqlite3, a native module) runs in the sandbox with mode `required`:
 * it sees its code and node_modules read-only, writes only its database directory, and the connector's
 * data directory next to it stays invisible. Real SDK client, real SQLite file on the host.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Upstream } from '../../src/mcp/upstream.js';
import { DEFAULT_SANDBOX_ROOT_FALLBACK_USER } from '../../src/sandbox/sandbox-config.js';
import { createSandboxLayout, type SandboxLayout } from './sandbox-fixture.js';

const ERP = fileURLToPath(new URL('../../samples/erp/server.js', import.meta.url));

let layout: SandboxLayout;
let erp: Upstream;
let dbDir: string;

before(async () => {
  layout = await createSandboxLayout();
  dbDir = join(layout.root, 'erp-data');
  await mkdir(dbDir);
  if (process.getuid?.() === 0) {
    await chown(dbDir, DEFAULT_SANDBOX_ROOT_FALLBACK_USER.uid, DEFAULT_SANDBOX_ROOT_FALLBACK_USER.gid);
  }
  erp = new Upstream(
    {
      name: 'erp',
      kind: 'stdio',
      command: process.execPath,
      args: [ERP, '--db', join(dbDir, 'erp.sqlite')],
      sandbox: { mode: 'required', readWritePaths: [dbDir], hiddenPaths: [layout.dataDir] },
    },
    { connectTimeoutMs: 30_000 },
  );
  await erp.start();
  await erp.whenReady(30_000);
});

after(async () => {
  await erp.close();
  await layout.close();
});

it('the ERP sample starts in the sandbox, reads and writes its own database', async () => {
  assert.equal(erp.status().sandboxed, true);
  const tools = await erp.listAll('tools');
  assert.ok(tools.some((t) => t.name === 'update_stock'));
  const low = await erp.request('tools/call', { name: 'inventory_status', arguments: {} });
  const items = (low.structuredContent as { items: Array<{ sku: string; quantity: number }> }).items;
  const item = items[0];
  assert.ok(item, 'the seeded database has low-stock items');
  const updated = await erp.request('tools/call', {
    name: 'update_stock',
    arguments: { sku: item.sku, delta: 5 },
  });
  assert.equal((updated.structuredContent as { quantity: number }).quantity, item.quantity + 5);
  assert.ok(existsSync(join(dbDir, 'erp.sqlite')), 'the database file is on the host, in its directory');
});
