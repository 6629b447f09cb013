#!/usr/bin/env node
/**
 * stdio entry of the sample ERP MCP server.
 *
 *   node dist/samples/erp/server.js [--db <path>]
 *
 * Opens (creating and seeding when missing) the SQLite file at `--db`, default
 * `<os.tmpdir()>/airlock-sample-erp.sqlite`, and serves MCP on stdin/stdout for both protocol eras.
 * Diagnostics go to stderr; stdout carries only protocol messages.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { createErpServer } from './create-erp-server.js';
import { openErpDatabase } from './database.js';

/** Database file used when `--db` is not given. */
export const DEFAULT_DB_PATH = join(tmpdir(), 'airlock-sample-erp.sqlite');

function main(): void {
  const { values } = parseArgs({ options: { db: { type: 'string' } }, strict: true });
  const db = openErpDatabase(values.db ?? DEFAULT_DB_PATH);
  const handle = serveStdio(() => createErpServer(db), {
    onerror: (err) => process.stderr.write(`acme-erp: ${err.message}\n`),
  });
  const shutdown = (): void => {
    void handle.close().finally(() => {
      db.close();
      process.exit(0);
    });
  };
  process.stdin.on('end', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
