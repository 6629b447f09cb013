/**
 * What each ERP tool declares to clients: title, description, input and output schemas (zod) and
 * annotations. A table; the handlers are in tools.ts.
 *
 * @example
 * server.registerTool('lookup_invoice', ERP_TOOL_DEFINITIONS.lookup_invoice, handler);
 */
import { z } from 'zod';
import { MAX_SEARCH_LIMIT } from './queries.js';

/** Default page size of `search_customers`. */
export const DEFAULT_SEARCH_LIMIT = 10;
/** Largest stock change `update_stock` accepts in one call. */
export const MAX_STOCK_DELTA = 100_000;

const invoiceNumber = z
  .string()
  .regex(/^INV-\d{4}-\d{4}$/i, 'an invoice number looks like INV-2025-0042')
  .describe('Invoice number, e.g. INV-2025-0042');
const customerId = z
  .number()
  .int()
  .positive()
  .describe('Numeric customer id, e.g. 17 (see search_customers)');
const sku = z
  .string()
  .regex(/^SKU-\d{5}$/i, 'a SKU looks like SKU-10001')
  .describe('Stock keeping unit, e.g. SKU-10001');

const customerSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  company: z.string(),
  email: z.string(),
  city: z.string(),
  country: z.string(),
});

const customerDetail = customerSummary.extend({
  phone: z.string(),
  cardNumber: z.string(),
  iban: z.string(),
  address: z.object({ street: z.string(), postalCode: z.string(), city: z.string(), country: z.string() }),
  currency: z.string(),
  createdAt: z.string(),
  invoices: z.object({ total: z.number(), open: z.number(), overdue: z.number(), outstanding: z.number() }),
});

const invoiceStatus = z.enum(['open', 'paid', 'overdue', 'void']);

const invoiceDetail = z.object({
  invoiceNumber: z.string(),
  status: invoiceStatus,
  issueDate: z.string(),
  dueDate: z.string(),
  currency: z.string(),
  amount: z.number(),
  customer: z.object({ id: z.number().int(), name: z.string(), company: z.string(), email: z.string() }),
  lines: z.array(
    z.object({
      sku: z.string(),
      description: z.string(),
      quantity: z.number().int(),
      unitPrice: z.number(),
      total: z.number(),
    }),
  ),
  history: z.array(z.object({ from: z.string(), to: z.string(), reason: z.string(), at: z.string() })),
});

const inventoryItem = z.object({
  sku: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  reorderLevel: z.number().int(),
  unitPrice: z.number(),
  location: z.string(),
  lowStock: z.boolean(),
  updatedAt: z.string(),
});

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

/** The seven tools: four reads, two writes and one destructive delete. */
export const ERP_TOOL_DEFINITIONS = {
  lookup_invoice: {
    title: 'Look up an invoice',
    description:
      'Fetch one invoice by its number: status, dates, amount, customer, line items and status history. ' +
      'Use this before changing an invoice or writing to a customer about it.',
    inputSchema: z.object({ invoice_number: invoiceNumber }),
    outputSchema: invoiceDetail,
    annotations: READ_ONLY,
  },
  search_customers: {
    title: 'Search customers',
    description:
      'Find customers whose name, company or e-mail contains the query (case-insensitive). ' +
      'Returns short records with the numeric id that get_customer and delete_customer take.',
    inputSchema: z.object({
      query: z.string().min(1).max(100).describe('Part of a name, company or e-mail address, e.g. "weber"'),
      limit: z
        .number()
        .int()
        .min(1)
        .max(MAX_SEARCH_LIMIT)
        .default(DEFAULT_SEARCH_LIMIT)
        .describe(`How many customers to return (1-${MAX_SEARCH_LIMIT}, default ${DEFAULT_SEARCH_LIMIT})`),
    }),
    outputSchema: z.object({
      customers: z.array(customerSummary),
      total: z.number().int().describe('All matches, including those beyond the limit'),
    }),
    annotations: READ_ONLY,
  },
  get_customer: {
    title: 'Get a customer',
    description:
      'Fetch the full customer record by id: contact details, address, payment details (card, IBAN) and ' +
      'an invoice summary (open, overdue, outstanding amount).',
    inputSchema: z.object({ id: customerId }),
    outputSchema: customerDetail,
    annotations: READ_ONLY,
  },
  inventory_status: {
    title: 'Inventory status',
    description:
      'Stock level of one SKU, or, without a SKU, every item at or below its reorder level (emptiest first).',
    inputSchema: z.object({ sku: sku.optional() }),
    outputSchema: z.object({
      items: z.array(inventoryItem),
      mode: z.enum(['sku', 'low_stock']).describe('Whether this is one SKU or the low-stock list'),
    }),
    annotations: READ_ONLY,
  },
  adjust_invoice_status: {
    title: 'Change an invoice status',
    description:
      'Mark an invoice paid, void or overdue, with a reason that is kept in its history. ' +
      'Allowed: open → paid/void/overdue, overdue → paid/void, paid → void; a void invoice is final.',
    inputSchema: z.object({
      invoice_number: invoiceNumber,
      status: z.enum(['paid', 'void', 'overdue']).describe('The new status'),
      reason: z.string().min(3).max(500).describe('Why, e.g. "bank transfer received 2025-06-12"'),
    }),
    outputSchema: z.object({
      invoiceNumber: z.string(),
      previousStatus: invoiceStatus,
      status: invoiceStatus,
      reason: z.string(),
      updatedAt: z.string(),
    }),
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
  },
  update_stock: {
    title: 'Update stock',
    description:
      'Add (positive delta) or remove (negative delta) units of a SKU, e.g. after a delivery or a stock ' +
      'count. Stock never goes below zero.',
    inputSchema: z.object({
      sku,
      delta: z
        .number()
        .int()
        .min(-MAX_STOCK_DELTA)
        .max(MAX_STOCK_DELTA)
        .describe('Units to add (positive) or remove (negative); not zero'),
    }),
    outputSchema: z.object({
      sku: z.string(),
      previousQuantity: z.number().int(),
      quantity: z.number().int(),
      lowStock: z.boolean(),
    }),
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: false,
    },
  },
  delete_customer: {
    title: 'Delete a customer',
    description:
      'Permanently delete a customer and all of their invoices. This cannot be undone. ' +
      'Requires confirm: true; look the customer up with get_customer first.',
    inputSchema: z.object({
      id: customerId,
      confirm: z.literal(true).describe('Must be true to confirm the permanent deletion'),
    }),
    outputSchema: z.object({
      id: z.number().int(),
      name: z.string(),
      invoicesDeleted: z.number().int(),
    }),
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: false,
    },
  },
};
