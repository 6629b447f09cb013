#!/usr/bin/env node
/**
 * stdio entry of the sample ERP MCP server.
 *
 *   node dist/samples/erp/server.js [--db <path>] [--approval-jwks <url|file> --approval-issuer <iss>
 *                                    [--approval-tool-prefix erp.]]
 *
 * Opens (creating and seeding when missing) the SQLite file at `--db`, default
 * `<os.tmpdir()>/airlock-sample-erp.sqlite`, and serves MCP on stdin/stdout for both protocol eras.
 * Diagnostics go to stderr; stdout carries only protocol messages. With `--approval-jwks`, the write
 * tools run only with a valid Airlock approval token (see approval-gate.ts).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { approvalGateFromArgs } from './approval-gate.js';
import { createErpServer } from './create-erp-server.js';
import { openErpDatabase } from './database.js';

/** Database file used when `--db` is not given. */
export const DEFAULT_DB_PATH = join(tmpdir(), 'airlock-sample-erp.sqlite');

function main(): void {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      'approval-jwks': { type: 'string' },
      'approval-issuer': { type: 'string' },
      'approval-tool-prefix': { type: 'string' },
    },
    strict: true,
  });
  const approvals = approvalGateFromArgs(values);
  const db = openErpDatabase(values.db ?? DEFAULT_DB_PATH);
  const handle = serveStdio(() => createErpServer(db, approvals ? { approvals } : {}), {
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
