/**
 * Typed reads and writes over the sample ERP database. Every method maps rows to plain objects in the
 * shape the MCP tools return (erp-records.ts), so the tool handlers stay thin. Failures that a caller
 * can fix (unknown id, forbidden transition, stock below zero) throw `ErpError` with a stable `code`.
 *
 * @example
 * const erp = new ErpQueries(openErpDatabase(path));
 * erp.findInvoice('INV-2025-0001')?.status; // 'paid'
 */
import type Database from 'better-sqlite3';
import {
  type CustomerDetail,
  type CustomerSummary,
  type DailyReport,
  ErpError,
  type InventoryItem,
  type InvoiceDetail,
  type StatusChange,
  type StockChange,
} from './erp-records.js';
import type { InvoiceStatus } from './seed-data.js';

/** Largest page `searchCustomers` returns, whatever the caller asks for. */
export const MAX_SEARCH_LIMIT = 50;

interface CustomerRow {
  id: number;
  name: string;
  company: string;
  email: string;
  phone: string;
  card_number: string;
  iban: string;
  street: string;
  postal_code: string;
  city: string;
  country: string;
  currency: string;
  created_at: string;
}

interface InventoryRow {
  sku: string;
  name: string;
  quantity: number;
  reorder_level: number;
  unit_price_cents: number;
  location: string;
  updated_at: string;
}

interface InvoiceRow {
  invoice_number: string;
  customer_id: number;
  issue_date: string;
  due_date: string;
  currency: string;
  amount_cents: number;
  status: InvoiceStatus;
}

const toMajor = (cents: number): number => Math.round(cents) / 100;

/** Allowed status transitions: a void invoice is final; a paid invoice can only be voided. */
const TRANSITIONS: Record<InvoiceStatus, readonly InvoiceStatus[]> = {
  open: ['paid', 'void', 'overdue'],
  overdue: ['paid', 'void'],
  paid: ['void'],
  void: [],
};

function inventoryItem(row: InventoryRow): InventoryItem {
  return {
    sku: row.sku,
    name: row.name,
    quantity: row.quantity,
    reorderLevel: row.reorder_level,
    unitPrice: toMajor(row.unit_price_cents),
    location: row.location,
    lowStock: row.quantity <= row.reorder_level,
    updatedAt: row.updated_at,
  };
}

export class ErpQueries {
  constructor(
    readonly db: Database.Database,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Customers whose name, company or e-mail contains `query` (case-insensitive), by name. */
  searchCustomers(query: string, limit: number): { customers: CustomerSummary[]; total: number } {
    const pattern = `%${query.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const where = `name LIKE @p ESCAPE '\\' OR company LIKE @p ESCAPE '\\' OR email LIKE @p ESCAPE '\\'`;
    const total = (
      this.db.prepare(`SELECT count(*) AS n FROM customers WHERE ${where}`).get({ p: pattern }) as {
        n: number;
      }
    ).n;
    const rows = this.db
      .prepare(
        `SELECT id, name, company, email, city, country FROM customers WHERE ${where} ORDER BY name, id LIMIT @limit`,
      )
      .all({ p: pattern, limit: Math.max(1, Math.min(limit, MAX_SEARCH_LIMIT)) }) as CustomerSummary[];
    return { customers: rows, total };
  }

  /** Every customer, by id (for resource listings). */
  listCustomers(): CustomerSummary[] {
    return this.db
      .prepare('SELECT id, name, company, email, city, country FROM customers ORDER BY id')
      .all() as CustomerSummary[];
  }

  getCustomer(id: number): CustomerDetail {
    const row = this.db.prepare('SELECT * FROM customers WHERE id = ?').get(id) as CustomerRow | undefined;
    if (!row)
      throw new ErpError('NOT_FOUND', `No customer with id ${id}. Use search_customers to find the id.`);
    const stats = this.db
      .prepare(
        `SELECT count(*) AS total,
                sum(status = 'open') AS open,
                sum(status = 'overdue') AS overdue,
                coalesce(sum(CASE WHEN status IN ('open', 'overdue') THEN amount_cents END), 0) AS outstanding
         FROM invoices WHERE customer_id = ?`,
      )
      .get(id) as { total: number; open: number | null; overdue: number | null; outstanding: number };
    return {
      id: row.id,
      name: row.name,
      company: row.company,
      email: row.email,
      city: row.city,
      country: row.country,
      phone: row.phone,
      cardNumber: row.card_number,
      iban: row.iban,
      address: { street: row.street, postalCode: row.postal_code, city: row.city, country: row.country },
      currency: row.currency,
      createdAt: row.created_at,
      invoices: {
        total: stats.total,
        open: stats.open ?? 0,
        overdue: stats.overdue ?? 0,
        outstanding: toMajor(stats.outstanding),
      },
    };
  }

  findInvoice(invoiceNumber: string): InvoiceDetail {
    const row = this.db
      .prepare(
        `SELECT i.*, c.name AS customer_name, c.company AS customer_company, c.email AS customer_email
         FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE i.invoice_number = ?`,
      )
      .get(invoiceNumber.trim().toUpperCase()) as
      | (InvoiceRow & { customer_name: string; customer_company: string; customer_email: string })
      | undefined;
    if (!row) {
      throw new ErpError(
        'NOT_FOUND',
        `No invoice ${invoiceNumber}. Invoice numbers look like INV-2025-0042; check the number with the customer.`,
      );
    }
    const lines = this.db
      .prepare(
        'SELECT sku, description, quantity, unit_price_cents FROM invoice_lines WHERE invoice_number = ? ORDER BY line_no',
      )
      .all(row.invoice_number) as {
      sku: string;
      description: string;
      quantity: number;
      unit_price_cents: number;
    }[];
    const history = this.db
      .prepare(
        'SELECT from_status AS "from", to_status AS "to", reason, at FROM invoice_events WHERE invoice_number = ? ORDER BY id',
      )
      .all(row.invoice_number) as InvoiceDetail['history'];
    return {
      invoiceNumber: row.invoice_number,
      status: row.status,
      issueDate: row.issue_date,
      dueDate: row.due_date,
      currency: row.currency,
      amount: toMajor(row.amount_cents),
      customer: {
        id: row.customer_id,
        name: row.customer_name,
        company: row.customer_company,
        email: row.customer_email,
      },
      lines: lines.map((l) => ({
        sku: l.sku,
        description: l.description,
        quantity: l.quantity,
        unitPrice: toMajor(l.unit_price_cents),
        total: toMajor(l.quantity * l.unit_price_cents),
      })),
      history,
    };
  }

  /** Invoice numbers in `status`, optionally starting with `prefix` (for completions). */
  invoiceNumbers(status: InvoiceStatus, prefix = '', limit = 20): string[] {
    return (
      this.db
        .prepare(
          'SELECT invoice_number FROM invoices WHERE status = ? AND invoice_number LIKE ? ORDER BY invoice_number LIMIT ?',
        )
        .all(status, `${prefix.toUpperCase()}%`, limit) as { invoice_number: string }[]
    ).map((r) => r.invoice_number);
  }

  inventoryItem(sku: string): InventoryItem {
    const row = this.db.prepare('SELECT * FROM inventory WHERE sku = ?').get(sku.trim().toUpperCase()) as
      | InventoryRow
      | undefined;
    if (!row) throw new ErpError('NOT_FOUND', `No inventory item ${sku}. SKUs look like SKU-10001.`);
    return inventoryItem(row);
  }

  /** Items at or below their reorder level, the emptiest first. */
  lowStock(): InventoryItem[] {
    return (
      this.db
        .prepare('SELECT * FROM inventory WHERE quantity <= reorder_level ORDER BY quantity, sku')
        .all() as InventoryRow[]
    ).map(inventoryItem);
  }

  adjustInvoiceStatus(invoiceNumber: string, status: InvoiceStatus, reason: string): StatusChange {
    const run = this.db.transaction((): StatusChange => {
      const current = this.findInvoice(invoiceNumber);
      if (current.status === status) {
        throw new ErpError(
          'CONFLICT',
          `Invoice ${current.invoiceNumber} is already ${status}; nothing to change.`,
        );
      }
      if (!TRANSITIONS[current.status].includes(status)) {
        const allowed = TRANSITIONS[current.status];
        throw new ErpError(
          'CONFLICT',
          `Invoice ${current.invoiceNumber} is ${current.status} and cannot become ${status}` +
            (allowed.length ? ` (allowed: ${allowed.join(', ')}).` : ' (a void invoice is final).'),
        );
      }
      const at = this.now().toISOString();
      this.db
        .prepare('UPDATE invoices SET status = ?, updated_at = ? WHERE invoice_number = ?')
        .run(status, at, current.invoiceNumber);
      this.db
        .prepare(
          'INSERT INTO invoice_events (invoice_number, from_status, to_status, reason, at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(current.invoiceNumber, current.status, status, reason, at);
      return {
        invoiceNumber: current.invoiceNumber,
        previousStatus: current.status,
        status,
        reason,
        updatedAt: at,
      };
    });
    return run.immediate();
  }

  updateStock(sku: string, delta: number): StockChange {
    const run = this.db.transaction((): StockChange => {
      const item = this.inventoryItem(sku);
      const quantity = item.quantity + delta;
      if (quantity < 0) {
        throw new ErpError(
          'CONFLICT',
          `Only ${item.quantity} of ${item.sku} in stock; a change of ${delta} would go below zero.`,
        );
      }
      this.db
        .prepare('UPDATE inventory SET quantity = ?, updated_at = ? WHERE sku = ?')
        .run(quantity, this.now().toISOString(), item.sku);
      return {
        sku: item.sku,
        previousQuantity: item.quantity,
        quantity,
        lowStock: quantity <= item.reorderLevel,
      };
    });
    return run.immediate();
  }

  deleteCustomer(id: number): { id: number; name: string; invoicesDeleted: number } {
    const run = this.db.transaction(() => {
      const customer = this.getCustomer(id);
      const invoices = (
        this.db.prepare('SELECT count(*) AS n FROM invoices WHERE customer_id = ?').get(id) as { n: number }
      ).n;
      this.db.prepare('DELETE FROM customers WHERE id = ?').run(id);
      return { id, name: customer.name, invoicesDeleted: invoices };
    });
    return run.immediate();
  }

  dailyReport(): DailyReport {
    const invoices: Record<InvoiceStatus, number> = { open: 0, paid: 0, overdue: 0, void: 0 };
    for (const row of this.db.prepare('SELECT status, count(*) AS n FROM invoices GROUP BY status').all() as {
      status: InvoiceStatus;
      n: number;
    }[]) {
      invoices[row.status] = row.n;
    }
    const outstanding = (
      this.db
        .prepare(
          `SELECT currency, sum(amount_cents) AS cents FROM invoices
           WHERE status IN ('open', 'overdue') GROUP BY currency ORDER BY currency`,
        )
        .all() as { currency: string; cents: number }[]
    ).map((r) => ({ currency: r.currency, amount: toMajor(r.cents) }));
    const customers = (this.db.prepare('SELECT count(*) AS n FROM customers').get() as { n: number }).n;
    return {
      generatedAt: this.now().toISOString(),
      customers,
      invoices,
      outstanding,
      lowStockSkus: this.lowStock().map((i) => i.sku),
    };
  }
}
