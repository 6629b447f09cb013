/**
 * The ERP's MCP resources: one resource per customer (`erp://customers/{id}`, listable and completable)
 * and a daily summary (`erp://reports/daily`). Both are JSON documents.
 *
 * @example
 * registerErpResources(server, new ErpQueries(db));
 */
import { type McpServer, ResourceNotFoundError, ResourceTemplate } from '@modelcontextprotocol/server';
import { ErpError } from './erp-records.js';
import type { ErpQueries } from './queries.js';

/** URI template of the per-customer resource. */
export const CUSTOMER_URI_TEMPLATE = 'erp://customers/{id}';
/** URI of the daily report resource. */
export const DAILY_REPORT_URI = 'erp://reports/daily';

/** Registers the customer template and the daily report on `server`. */
export function registerErpResources(server: McpServer, erp: ErpQueries): void {
  server.registerResource(
    'customer',
    new ResourceTemplate(CUSTOMER_URI_TEMPLATE, {
      list: () => ({
        resources: erp.listCustomers().map((c) => ({
          uri: `erp://customers/${c.id}`,
          name: `customer-${c.id}`,
          title: `${c.name} (${c.company})`,
          mimeType: 'application/json',
        })),
      }),
      complete: {
        id: (value) =>
          erp
            .listCustomers()
            .map((c) => String(c.id))
            .filter((id) => id.startsWith(value))
            .slice(0, 20),
      },
    }),
    {
      title: 'Customer record',
      description: 'The full record of one customer, including contact and payment details, as JSON.',
      mimeType: 'application/json',
    },
    (uri, variables) => {
      const raw = Array.isArray(variables.id) ? variables.id[0] : variables.id;
      const id = Number(raw);
      try {
        if (!Number.isInteger(id) || id <= 0) throw new ErpError('NOT_FOUND', `Invalid customer id ${raw}`);
        const customer = erp.getCustomer(id);
        return {
          contents: [
            { uri: uri.href, mimeType: 'application/json', text: JSON.stringify(customer, null, 2) },
          ],
        };
      } catch (err) {
        if (err instanceof ErpError) throw new ResourceNotFoundError(uri.href, err.message);
        throw err;
      }
    },
  );

  server.registerResource(
    'daily-report',
    DAILY_REPORT_URI,
    {
      title: 'Daily report',
      description:
        'Today at a glance: number of customers, invoices by status, outstanding amounts per currency and low-stock SKUs.',
      mimeType: 'application/json',
    },
    (uri) => ({
      contents: [
        { uri: uri.href, mimeType: 'application/json', text: JSON.stringify(erp.dailyReport(), null, 2) },
      ],
    }),
  );
}
