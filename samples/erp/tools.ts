/**
 * The ERP's MCP tools: four reads, two writes and one destructive delete. Every tool declares an input
 * schema, an output schema (answers carry `structuredContent` plus the same JSON as text) and honest
 * annotations (tool-definitions.ts). Failures the caller can fix come back as `isError: true` results
 * whose text says what to do, so a model can correct itself.
 *
 * @example
 * registerErpTools(server, new ErpQueries(db));
 */
import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
import type { ErpApprovalGate } from './approval-gate.js';
import { ErpError } from './erp-records.js';
import type { ErpQueries } from './queries.js';
import { ERP_TOOL_DEFINITIONS as TOOLS } from './tool-definitions.js';

function ok<T extends Record<string, unknown>>(structured: T): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(structured, null, 2) }],
    structuredContent: structured,
  };
}

function failed(err: unknown): CallToolResult {
  if (err instanceof ErpError) return { isError: true, content: [{ type: 'text', text: err.message }] };
  throw err;
}

/** Runs `fn`, turning an `ErpError` into an `isError` result and anything else into a thrown error. */
function answer<T extends Record<string, unknown>>(fn: () => T): CallToolResult {
  try {
    return ok(fn());
  } catch (err) {
    return failed(err);
  }
}

/**
 * `run` behind the approval gate, when there is one: the call's arguments and `_meta` must carry a
 * valid approval token for this tool, else the caller gets an `isError` result and nothing changes.
 */
function approved<A extends Record<string, unknown>>(
  gate: ErpApprovalGate | undefined,
  tool: string,
  run: (args: A) => CallToolResult,
): (args: A, ctx: { mcpReq: { _meta?: unknown } }) => Promise<CallToolResult> {
  return async (args, ctx) => {
    const refusal = gate ? await gate.refusal(tool, args, ctx.mcpReq._meta) : undefined;
    if (refusal !== undefined) return { isError: true, content: [{ type: 'text', text: refusal }] };
    return run(args);
  };
}

/** Registers every ERP tool on `server`; with `gate`, the write tools need an approval token. */
export function registerErpTools(server: McpServer, erp: ErpQueries, gate?: ErpApprovalGate): void {
  server.registerTool('lookup_invoice', TOOLS.lookup_invoice, ({ invoice_number }) =>
    answer(() => ({ ...erp.findInvoice(invoice_number) })),
  );
  server.registerTool('search_customers', TOOLS.search_customers, ({ query, limit }) =>
    answer(() => erp.searchCustomers(query, limit)),
  );
  server.registerTool('get_customer', TOOLS.get_customer, ({ id }) =>
    answer(() => ({ ...erp.getCustomer(id) })),
  );
  server.registerTool('inventory_status', TOOLS.inventory_status, ({ sku: wanted }) =>
    answer(() =>
      wanted === undefined
        ? { items: erp.lowStock(), mode: 'low_stock' as const }
        : { items: [erp.inventoryItem(wanted)], mode: 'sku' as const },
    ),
  );
  server.registerTool(
    'adjust_invoice_status',
    TOOLS.adjust_invoice_status,
    approved(gate, 'adjust_invoice_status', ({ invoice_number, status, reason }) =>
      answer(() => ({ ...erp.adjustInvoiceStatus(invoice_number, status, reason) })),
    ),
  );
  server.registerTool(
    'update_stock',
    TOOLS.update_stock,
    approved(gate, 'update_stock', ({ sku: item, delta }) =>
      answer(() => {
        if (delta === 0)
          throw new ErpError('INVALID', 'delta must not be 0: pass how many units to add or remove.');
        return { ...erp.updateStock(item, delta) };
      }),
    ),
  );
  server.registerTool(
    'delete_customer',
    TOOLS.delete_customer,
    approved(gate, 'delete_customer', ({ id }) => answer(() => erp.deleteCustomer(id))),
  );
}
