/**
 * Builds the sample ERP MCP server (tools, resources, prompt) over an ERP database. One `McpServer`
 * per connection; they may share one database handle.
 *
 * @example
 * const db = openErpDatabase(path);
 * serveStdio(() => createErpServer(db));
 */
import { McpServer } from '@modelcontextprotocol/server';
import type Database from 'better-sqlite3';
import type { ErpApprovalGate } from './approval-gate.js';
import { registerErpPrompts } from './prompts.js';
import { ErpQueries } from './queries.js';
import { registerErpResources } from './resources.js';
import { registerErpTools } from './tools.js';

/** Name and version the server reports to clients. */
export const ERP_SERVER_INFO = { name: 'acme-erp', version: '1.0.0' } as const;

const INSTRUCTIONS =
  'ACME ERP/CRM. Find customers with search_customers, read one with get_customer, and invoices with ' +
  'lookup_invoice. Changing an invoice status, stock or deleting a customer changes real records: ' +
  'look them up first and state a reason.';

/** Creates a server instance bound to `db`; with `approvals`, write tools need an approval token. */
export function createErpServer(
  db: Database.Database,
  opts: { now?: () => Date; approvals?: ErpApprovalGate } = {},
): McpServer {
  const erp = new ErpQueries(db, opts.now);
  const server = new McpServer(ERP_SERVER_INFO, {
    instructions: INSTRUCTIONS,
    capabilities: { tools: { listChanged: false }, resources: {}, prompts: {}, completions: {} },
  });
  registerErpTools(server, erp, opts.approvals);
  registerErpResources(server, erp);
  registerErpPrompts(server, erp);
  return server;
}
