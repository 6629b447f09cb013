/**
 * Deterministic seed data for the sample ERP: customers across six European countries with realistic
 * (but fictional) names, e-mail addresses under the reserved `.example` TLD, phone numbers, Luhn-valid
 * test card numbers, mod-97-valid IBANs (with valid national check digits where the country has them),
 * postal addresses, an inventory and invoices with line items.
 *
 * The same seed always yields the same rows, so tests and demos can name concrete records.
 *
 * @example
 * const data = generateSeedData();
 * data.customers.length; // 50
 */
import { COUNTRY_PROFILES } from './country-profiles.js';
import { ibanFor, testCardNumber } from './payment-numbers.js';
import { Dice, prng } from './seed-dice.js';

/** Number of customers the default seed creates. */
export const DEFAULT_CUSTOMER_COUNT = 50;
/** Number of invoices the default seed creates. */
export const DEFAULT_INVOICE_COUNT = 200;
/** Number of inventory items the default seed creates. */
export const DEFAULT_INVENTORY_COUNT = 40;
/** PRNG seed of the default data set. */
export const DEFAULT_SEED = 20250617;

export type CountryCode = 'DE' | 'GB' | 'FR' | 'NL' | 'BE' | 'ES';
export type InvoiceStatus = 'open' | 'paid' | 'overdue' | 'void';

export interface SeedCustomer {
  id: number;
  name: string;
  company: string;
  email: string;
  phone: string;
  cardNumber: string;
  iban: string;
  street: string;
  postalCode: string;
  city: string;
  country: CountryCode;
  currency: 'EUR' | 'GBP';
  createdAt: string;
}

export interface SeedInventoryItem {
  sku: string;
  name: string;
  quantity: number;
  reorderLevel: number;
  unitPriceCents: number;
  location: string;
}

export interface SeedInvoiceLine {
  sku: string;
  description: string;
  quantity: number;
  unitPriceCents: number;
}

export interface SeedInvoice {
  invoiceNumber: string;
  customerId: number;
  issueDate: string;
  dueDate: string;
  currency: 'EUR' | 'GBP';
  status: InvoiceStatus;
  lines: SeedInvoiceLine[];
  amountCents: number;
}

export interface SeedData {
  customers: SeedCustomer[];
  inventory: SeedInventoryItem[];
  invoices: SeedInvoice[];
}

export { buildIban, isValidIban, isValidLuhn, luhnCheckDigit } from './payment-numbers.js';

function slug(value: string): string {
  return value
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .replace(/&/g, 'and')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

const PRODUCTS: readonly { name: string; priceCents: number }[] = [
  { name: 'Pallet wrap film 500 mm × 300 m', priceCents: 1890 },
  { name: 'Nitrile gloves, box of 100 (M)', priceCents: 1150 },
  { name: 'Corrugated box 60×40×40 cm', priceCents: 245 },
  { name: 'Thermal label roll 100×150 mm', priceCents: 995 },
  { name: 'Barcode scanner, USB, 2D', priceCents: 12900 },
  { name: 'Safety shoes S3, size 43', priceCents: 6950 },
  { name: 'Hi-vis vest, EN ISO 20471', priceCents: 690 },
  { name: 'Packing tape 48 mm × 66 m', priceCents: 189 },
  { name: 'Euro pallet EPAL 1200×800', priceCents: 1650 },
  { name: 'Cable ties 300 mm, pack of 100', priceCents: 540 },
  { name: 'LED shop light 1500 mm', priceCents: 4490 },
  { name: 'Cordless drill 18 V', priceCents: 15900 },
  { name: 'Drill bit set HSS 19 pcs', priceCents: 2490 },
  { name: 'Stretch hood 1200×800', priceCents: 310 },
  { name: 'Label printer, desktop, 203 dpi', priceCents: 28900 },
  { name: 'Shelf rack 2000×1000×500', priceCents: 21900 },
  { name: 'Hand pallet truck 2.5 t', priceCents: 38900 },
  { name: 'Bubble wrap roll 1 m × 50 m', priceCents: 2890 },
  { name: 'Ear defenders SNR 30 dB', priceCents: 1790 },
  { name: 'Safety helmet EN 397', priceCents: 1290 },
];

const LOCATIONS = ['WH-A-01', 'WH-A-02', 'WH-B-01', 'WH-B-03', 'WH-C-07'];

function isoDate(base: Date, plusDays: number): string {
  return new Date(base.getTime() + plusDays * 86_400_000).toISOString().slice(0, 10);
}

/** `count` customers, the countries taking turns; e-mail addresses are unique. */
function seedCustomers(
  dice: Dice,
  countries: typeof COUNTRY_PROFILES,
  count: number,
  base: Date,
): SeedCustomer[] {
  const customers: SeedCustomer[] = [];
  const usedEmails = new Set<string>();
  const countryCodes = Object.keys(countries) as CountryCode[];
  for (let id = 1; id <= count; id++) {
    const country = countryCodes[(id - 1) % countryCodes.length] as CountryCode;
    const p = countries[country];
    const first = dice.pick(p.first);
    const last = dice.pick(p.last);
    const company = `${dice.pick(p.companyStems)} ${dice.pick(p.companySuffixes)}`;
    const domain = `${slug(company.replace(/\b(GmbH & Co\. KG|GmbH|AG|Ltd|plc|LLP|SAS|SARL|SA|B\.V\.|N\.V\.|BV|SRL|NV|S\.L\.|S\.A\.)$/, ''))}.example`;
    let email = `${slug(first)}.${slug(last)}@${domain}`;
    for (let n = 2; usedEmails.has(email); n++) email = `${slug(first)}.${slug(last)}${n}@${domain}`;
    usedEmails.add(email);
    const place = dice.pick(p.cities);
    customers.push({
      id,
      name: `${first} ${last}`,
      company,
      email,
      phone: p.phone(dice),
      cardNumber: testCardNumber(dice),
      iban: ibanFor(country, dice),
      street: p.address(dice.pick(p.streets), dice.int(1, 180)),
      postalCode: place.postal(dice),
      city: place.city,
      country,
      currency: p.currency,
      createdAt: `${isoDate(base, -dice.int(30, 900))}T10:00:00Z`,
    });
  }
  return customers;
}

/**
 * Generates the complete seed data set. Pure and deterministic for a given option set.
 *
 * @example
 * const { customers, invoices, inventory } = generateSeedData({ customers: 10, invoices: 20 });
 */
export function generateSeedData(
  opts: { seed?: number; customers?: number; invoices?: number; inventory?: number } = {},
): SeedData {
  const dice = new Dice(prng(opts.seed ?? DEFAULT_SEED));
  const base = new Date('2025-01-06T09:00:00Z');

  const customers = seedCustomers(dice, COUNTRY_PROFILES, opts.customers ?? DEFAULT_CUSTOMER_COUNT, base);

  const inventory: SeedInventoryItem[] = [];
  const inventoryCount = opts.inventory ?? DEFAULT_INVENTORY_COUNT;
  for (let i = 0; i < inventoryCount; i++) {
    const product = PRODUCTS[i % PRODUCTS.length] as { name: string; priceCents: number };
    const variant = i < PRODUCTS.length ? '' : ' (bulk)';
    const reorderLevel = dice.pick([10, 20, 25, 50, 100]);
    // Roughly one item in five starts at or below its reorder level.
    const quantity = dice.chance(0.2)
      ? dice.int(0, reorderLevel)
      : dice.int(reorderLevel + 1, reorderLevel * 8);
    inventory.push({
      sku: `SKU-${10001 + i}`,
      name: `${product.name}${variant}`,
      quantity,
      reorderLevel,
      unitPriceCents: i < PRODUCTS.length ? product.priceCents : Math.round(product.priceCents * 0.9),
      location: dice.pick(LOCATIONS),
    });
  }

  const invoices: SeedInvoice[] = [];
  const invoiceCount = opts.invoices ?? DEFAULT_INVOICE_COUNT;
  for (let i = 0; i < invoiceCount; i++) {
    const customer = dice.pick(customers);
    const offset = Math.floor((i * 170) / Math.max(1, invoiceCount)) + dice.int(0, 3);
    const lines: SeedInvoiceLine[] = [];
    const lineCount = dice.int(1, 3);
    for (let l = 0; l < lineCount; l++) {
      const item = dice.pick(inventory);
      lines.push({
        sku: item.sku,
        description: item.name,
        quantity: dice.int(1, 24),
        unitPriceCents: item.unitPriceCents,
      });
    }
    const roll = dice.int(1, 100);
    const status: InvoiceStatus = roll <= 55 ? 'paid' : roll <= 85 ? 'open' : roll <= 97 ? 'overdue' : 'void';
    invoices.push({
      invoiceNumber: `INV-2025-${String(i + 1).padStart(4, '0')}`,
      customerId: customer.id,
      issueDate: isoDate(base, offset),
      dueDate: isoDate(base, offset + 30),
      currency: customer.currency,
      status,
      lines,
      amountCents: lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0),
    });
  }

  return { customers, inventory, invoices };
}
