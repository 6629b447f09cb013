/**
 * SQLite schema of the sample ERP and the function that opens (creating and seeding when empty) a
 * database file. Seeding runs inside an IMMEDIATE transaction, so two processes opening the same new
 * file at once (for example a client's version-negotiation probe and its session process) seed once.
 *
 * @example
 * const db = openErpDatabase('/tmp/erp.sqlite');
 * db.prepare('SELECT count(*) AS n FROM customers').get(); // { n: 50 }
 */
import Database from 'better-sqlite3';
import { generateSeedData, type SeedData } from './seed-data.js';

/** How long a connection waits for another writer before failing with SQLITE_BUSY. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  company     TEXT NOT NULL,
  email       TEXT NOT NULL UNIQUE,
  phone       TEXT NOT NULL,
  card_number TEXT NOT NULL,
  iban        TEXT NOT NULL,
  street      TEXT NOT NULL,
  postal_code TEXT NOT NULL,
  city        TEXT NOT NULL,
  country     TEXT NOT NULL,
  currency    TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inventory (
  sku              TEXT PRIMARY KEY,
  name             TEXT NOT NULL,
  quantity         INTEGER NOT NULL CHECK (quantity >= 0),
  reorder_level    INTEGER NOT NULL,
  unit_price_cents INTEGER NOT NULL,
  location         TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
  invoice_number TEXT PRIMARY KEY,
  customer_id    INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  issue_date     TEXT NOT NULL,
  due_date       TEXT NOT NULL,
  currency       TEXT NOT NULL,
  amount_cents   INTEGER NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('open', 'paid', 'overdue', 'void')),
  updated_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS invoices_customer ON invoices(customer_id);
CREATE TABLE IF NOT EXISTS invoice_lines (
  invoice_number   TEXT NOT NULL REFERENCES invoices(invoice_number) ON DELETE CASCADE,
  line_no          INTEGER NOT NULL,
  sku              TEXT NOT NULL,
  description      TEXT NOT NULL,
  quantity         INTEGER NOT NULL,
  unit_price_cents INTEGER NOT NULL,
  PRIMARY KEY (invoice_number, line_no)
);
CREATE TABLE IF NOT EXISTS invoice_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  invoice_number TEXT NOT NULL REFERENCES invoices(invoice_number) ON DELETE CASCADE,
  from_status    TEXT NOT NULL,
  to_status      TEXT NOT NULL,
  reason         TEXT NOT NULL,
  at             TEXT NOT NULL
);
`;

function insertSeed(db: Database.Database, data: SeedData, now: string): void {
  const customer = db.prepare(
    `INSERT INTO customers (id, name, company, email, phone, card_number, iban, street, postal_code, city, country, currency, created_at)
     VALUES (@id, @name, @company, @email, @phone, @cardNumber, @iban, @street, @postalCode, @city, @country, @currency, @createdAt)`,
  );
  const item = db.prepare(
    `INSERT INTO inventory (sku, name, quantity, reorder_level, unit_price_cents, location, updated_at)
     VALUES (@sku, @name, @quantity, @reorderLevel, @unitPriceCents, @location, @now)`,
  );
  const invoice = db.prepare(
    `INSERT INTO invoices (invoice_number, customer_id, issue_date, due_date, currency, amount_cents, status, updated_at)
     VALUES (@invoiceNumber, @customerId, @issueDate, @dueDate, @currency, @amountCents, @status, @now)`,
  );
  const line = db.prepare(
    `INSERT INTO invoice_lines (invoice_number, line_no, sku, description, quantity, unit_price_cents)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  for (const c of data.customers) customer.run(c);
  for (const i of data.inventory) item.run({ ...i, now });
  for (const inv of data.invoices) {
    invoice.run({
      invoiceNumber: inv.invoiceNumber,
      customerId: inv.customerId,
      issueDate: inv.issueDate,
      dueDate: inv.dueDate,
      currency: inv.currency,
      amountCents: inv.amountCents,
      status: inv.status,
      now,
    });
    inv.lines.forEach((l, n) => {
      line.run(inv.invoiceNumber, n + 1, l.sku, l.description, l.quantity, l.unitPriceCents);
    });
  }
}

/**
 * Opens the ERP database at `path` (`:memory:` works too), creates the schema and seeds it when the
 * customers table is empty.
 *
 * @example
 * const db = openErpDatabase(':memory:', { seed: generateSeedData({ customers: 5 }) });
 */
export function openErpDatabase(
  path: string,
  opts: { seed?: SeedData; busyTimeoutMs?: number } = {},
): Database.Database {
  const db = new Database(path);
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  const seedIfEmpty = db.transaction(() => {
    db.exec(SCHEMA);
    const row = db.prepare('SELECT count(*) AS n FROM customers').get() as { n: number };
    if (row.n === 0) insertSeed(db, opts.seed ?? generateSeedData(), new Date().toISOString());
  });
  seedIfEmpty.immediate();
  return db;
}
