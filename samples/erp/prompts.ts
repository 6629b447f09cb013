/**
 * The ERP's MCP prompt: `collections_email` drafts a polite payment reminder for an overdue invoice,
 * with the invoice facts filled in. Its `invoice_number` argument completes to overdue invoices.
 *
 * @example
 * registerErpPrompts(server, new ErpQueries(db));
 */
import { completable, type McpServer, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { ErpError } from './erp-records.js';
import type { ErpQueries } from './queries.js';

/** Registers `collections_email` on `server`. */
export function registerErpPrompts(server: McpServer, erp: ErpQueries): void {
  server.registerPrompt(
    'collections_email',
    {
      title: 'Collections e-mail',
      description: 'Draft a polite, firm payment reminder to the customer of an overdue invoice.',
      argsSchema: z.object({
        invoice_number: completable(z.string().describe('The overdue invoice, e.g. INV-2025-0042'), (value) =>
          erp.invoiceNumbers('overdue', value),
        ),
        tone: z.enum(['friendly', 'firm', 'final']).optional().describe('How insistent the reminder is'),
      }),
    },
    ({ invoice_number, tone }) => {
      let invoice: ReturnType<ErpQueries['findInvoice']>;
      try {
        invoice = erp.findInvoice(invoice_number);
      } catch (err) {
        if (err instanceof ErpError) throw new ProtocolError(ProtocolErrorCode.InvalidParams, err.message);
        throw err;
      }
      if (invoice.status !== 'overdue') {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Invoice ${invoice.invoiceNumber} is ${invoice.status}, not overdue; collections e-mails are for overdue invoices.`,
        );
      }
      const lines = invoice.lines
        .map(
          (l) => `- ${l.quantity} × ${l.description} (${l.sku}): ${l.total.toFixed(2)} ${invoice.currency}`,
        )
        .join('\n');
      return {
        description: `Payment reminder for ${invoice.invoiceNumber}`,
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text:
                `Write a ${tone ?? 'friendly'} but clear payment reminder e-mail to ${invoice.customer.name} ` +
                `at ${invoice.customer.company} <${invoice.customer.email}>.\n\n` +
                `Invoice ${invoice.invoiceNumber}, issued ${invoice.issueDate}, was due on ${invoice.dueDate} ` +
                `and is overdue. Amount: ${invoice.amount.toFixed(2)} ${invoice.currency}.\n` +
                `Items:\n${lines}\n\n` +
                'Ask them to pay within 7 days or to reply if they believe the invoice is wrong. ' +
                'Do not include bank or card details; keep it under 150 words; sign as "Accounts Receivable".',
            },
          },
        ],
      };
    },
  );
}
