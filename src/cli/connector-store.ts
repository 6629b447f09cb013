/** Opens the connector's store for a CLI command and always closes it. */
import { mkdir } from 'node:fs/promises';
import { type ConnectorContext, loadConnectorContext } from '../connector/connector-context.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

export async function withConnectorStore<T>(
  configFile: string,
  fn: (ctx: ConnectorContext, store: Store) => Promise<T>,
): Promise<T> {
  const ctx = await loadConnectorContext(configFile);
  await mkdir(ctx.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ url: ctx.storeUrl });
  try {
    return await fn(ctx, store);
  } finally {
    await store.close();
  }
}
