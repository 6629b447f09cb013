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

/** Small, fast, deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(private readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  digits(count: number): string {
    let out = '';
    for (let i = 0; i < count; i++) out += String(this.int(0, 9));
    return out;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// Check digits
// ---------------------------------------------------------------------------------------------

/** Luhn check digit for the digits in `body` (the digit that makes `body + digit` valid). */
export function luhnCheckDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** Whether a card number (digits, spaces allowed) passes the Luhn check. */
export function isValidLuhn(cardNumber: string): boolean {
  const digits = cardNumber.replace(/\s+/g, '');
  if (!/^\d{12,19}$/.test(digits)) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits.slice(-1);
}

function mod97(numeric: string): number {
  let remainder = 0;
  for (let i = 0; i < numeric.length; i += 7) {
    remainder = Number(`${remainder}${numeric.slice(i, i + 7)}`) % 97;
  }
  return remainder;
}

function lettersToDigits(value: string): string {
  return value.replace(/[A-Z]/g, (ch) => String(ch.charCodeAt(0) - 55));
}

/** Builds an IBAN from a country code and a BBAN, computing the ISO 13616 mod-97 check digits. */
export function buildIban(country: string, bban: string): string {
  const check = 98 - mod97(lettersToDigits(`${bban}${country}00`));
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}

/** Whether an IBAN (spaces allowed) has valid ISO 13616 mod-97 check digits. */
export function isValidIban(iban: string): boolean {
  const compact = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(compact)) return false;
  return mod97(lettersToDigits(`${compact.slice(4)}${compact.slice(0, 4)}`)) === 1;
}

function frenchRibKey(bank: string, branch: string, account: string): string {
  const value = 89n * BigInt(bank) + 15n * BigInt(branch) + 3n * BigInt(account);
  return String(97n - (value % 97n)).padStart(2, '0');
}

function spanishControlDigit(tenDigits: string): string {
  const weights = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += Number(tenDigits[i]) * (weights[i] ?? 0);
  const d = 11 - (sum % 11);
  return String(d === 11 ? 0 : d === 10 ? 1 : d);
}

function dutchElevenProofAccount(dice: Dice): string {
  for (;;) {
    const body = dice.digits(9);
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(body[i]) * (10 - i);
    const last = (11 - (sum % 11)) % 11;
    if (last < 10 && body[0] !== '0') return `${body}${last}`;
  }
}

function ibanFor(country: CountryCode, dice: Dice): string {
  switch (country) {
    case 'DE':
      return buildIban(
        'DE',
        `${dice.pick(['10070000', '37040044', '50010517', '20041133', '70150000'])}${dice.digits(10)}`,
      );
    case 'GB':
      return buildIban(
        'GB',
        `${dice.pick(['NWBK', 'BARC', 'LOYD', 'HBUK', 'MIDL'])}${dice.digits(6)}${dice.digits(8)}`,
      );
    case 'FR': {
      const bank = dice.pick(['30004', '30003', '20041', '10278', '30002']);
      const branch = dice.digits(5);
      const account = dice.digits(11);
      return buildIban('FR', `${bank}${branch}${account}${frenchRibKey(bank, branch, account)}`);
    }
    case 'NL':
      return buildIban(
        'NL',
        `${dice.pick(['ABNA', 'INGB', 'RABO', 'SNSB', 'TRIO'])}${dutchElevenProofAccount(dice)}`,
      );
    case 'BE': {
      const ten = `${dice.pick(['001', '068', '310', '363', '735'])}${dice.digits(7)}`;
      const check = Number(BigInt(ten) % 97n) || 97;
      return buildIban('BE', `${ten}${String(check).padStart(2, '0')}`);
    }
    case 'ES': {
      const bank = dice.pick(['2100', '0049', '0182', '0081', '2085']);
      const branch = dice.digits(4);
      const account = dice.digits(10);
      const dc = `${spanishControlDigit(`00${bank}${branch}`)}${spanishControlDigit(account)}`;
      return buildIban('ES', `${bank}${branch}${dc}${account}`);
    }
  }
}

function testCardNumber(dice: Dice): string {
  const brand = dice.pick([
    { prefix: '400000', length: 16 }, // Visa test range
    { prefix: '424242', length: 16 }, // Visa test range
    { prefix: '555555', length: 16 }, // Mastercard test range
    { prefix: '222300', length: 16 }, // Mastercard 2-series test range
    { prefix: '378282', length: 15 }, // American Express test range
  ]);
  const body = `${brand.prefix}${dice.digits(brand.length - brand.prefix.length - 1)}`;
  return `${body}${luhnCheckDigit(body)}`;
}

// ---------------------------------------------------------------------------------------------
// People, companies and places
// ---------------------------------------------------------------------------------------------

interface CountryProfile {
  currency: 'EUR' | 'GBP';
  first: readonly string[];
  last: readonly string[];
  companyStems: readonly string[];
  companySuffixes: readonly string[];
  streets: readonly string[];
  cities: readonly { city: string; postal: () => string }[];
  phone: (dice: Dice) => string;
  address: (street: string, number: number) => string;
}

function profiles(dice: Dice): Record<CountryCode, CountryProfile> {
  return {
    DE: {
      currency: 'EUR',
      first: [
        'Anna',
        'Lukas',
        'Sophie',
        'Maximilian',
        'Lena',
        'Jonas',
        'Katharina',
        'Felix',
        'Miriam',
        'Tobias',
      ],
      last: [
        'Schmidt',
        'Müller',
        'Weber',
        'Becker',
        'Hoffmann',
        'Schäfer',
        'Koch',
        'Richter',
        'Wolf',
        'Krüger',
      ],
      companyStems: [
        'Nordwind Logistik',
        'Rheinwerk Technik',
        'Hansa Maschinenbau',
        'Alpenblick Handel',
        'Eichenhof Bau',
      ],
      companySuffixes: ['GmbH', 'AG', 'GmbH & Co. KG'],
      streets: ['Hauptstraße', 'Bahnhofstraße', 'Lindenallee', 'Gartenweg', 'Schillerstraße'],
      cities: [
        { city: 'Berlin', postal: () => `10${dice.digits(3)}` },
        { city: 'Köln', postal: () => `50${dice.digits(3)}` },
        { city: 'Hamburg', postal: () => `20${dice.digits(3)}` },
        { city: 'München', postal: () => `80${dice.digits(3)}` },
      ],
      phone: (d) => `+49 30 ${d.digits(4)} ${d.digits(4)}`,
      address: (street, n) => `${street} ${n}`,
    },
    GB: {
      currency: 'GBP',
      first: ['Oliver', 'Amelia', 'George', 'Isla', 'Harry', 'Ava', 'Charlotte', 'Jack', 'Emily', 'Thomas'],
      last: [
        'Smith',
        'Jones',
        'Taylor',
        'Brown',
        'Williams',
        'Wilson',
        'Evans',
        'Thomas',
        'Roberts',
        'Walker',
      ],
      companyStems: [
        'Thames Valley Supplies',
        'Pennine Engineering',
        'Harbour Freight',
        'Kestrel Components',
      ],
      companySuffixes: ['Ltd', 'plc', 'LLP'],
      streets: ['High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Mill Lane'],
      cities: [
        { city: 'London', postal: () => `EC1A ${dice.int(1, 9)}BB` },
        { city: 'Manchester', postal: () => `M${dice.int(1, 9)} ${dice.int(1, 9)}AE` },
        { city: 'Leeds', postal: () => `LS${dice.int(1, 9)} ${dice.int(1, 9)}UR` },
      ],
      // Ofcom reserves 020 7946 0000–0999 for drama: real-looking, never assigned.
      phone: (d) => `+44 20 7946 0${d.digits(3)}`,
      address: (street, n) => `${n} ${street}`,
    },
    FR: {
      currency: 'EUR',
      first: ['Camille', 'Louis', 'Chloé', 'Hugo', 'Léa', 'Gabriel', 'Manon', 'Arthur', 'Inès', 'Jules'],
      last: [
        'Martin',
        'Bernard',
        'Dubois',
        'Thomas',
        'Robert',
        'Richard',
        'Petit',
        'Durand',
        'Leroy',
        'Moreau',
      ],
      companyStems: ['Atelier Lumière', 'Transports Garonne', 'Boulangeries Réunies', 'Solutions Azur'],
      companySuffixes: ['SAS', 'SARL', 'SA'],
      streets: ['Rue de la République', 'Avenue Victor Hugo', 'Rue du Moulin', 'Boulevard Saint-Michel'],
      cities: [
        { city: 'Paris', postal: () => `750${String(dice.int(1, 20)).padStart(2, '0')}` },
        { city: 'Lyon', postal: () => `6900${dice.int(1, 9)}` },
        { city: 'Bordeaux', postal: () => '33000' },
      ],
      // ARCEP reserves 01 99 00 xx xx for fiction.
      phone: (d) => `+33 1 99 00 ${d.digits(2)} ${d.digits(2)}`,
      address: (street, n) => `${n} ${street}`,
    },
    NL: {
      currency: 'EUR',
      first: ['Daan', 'Emma', 'Sem', 'Julia', 'Lucas', 'Mila', 'Bram', 'Sanne', 'Thijs', 'Fleur'],
      last: [
        'de Jong',
        'Jansen',
        'de Vries',
        'van den Berg',
        'Bakker',
        'Visser',
        'Smit',
        'Meijer',
        'Mulder',
        'Bos',
      ],
      companyStems: ['Polder Distributie', 'Grachtenhuis Media', 'Tulpenveld Handel', 'Windmolen Techniek'],
      companySuffixes: ['B.V.', 'N.V.'],
      streets: ['Kerkstraat', 'Dorpsstraat', 'Molenweg', 'Stationsplein', 'Prinsengracht'],
      cities: [
        { city: 'Amsterdam', postal: () => `10${dice.digits(2)} ${dice.pick(['AB', 'KL', 'RS'])}` },
        { city: 'Rotterdam', postal: () => `30${dice.digits(2)} ${dice.pick(['CD', 'GH', 'TX'])}` },
        { city: 'Utrecht', postal: () => `35${dice.digits(2)} ${dice.pick(['BE', 'JP', 'ZW'])}` },
      ],
      phone: (d) => `+31 20 7${d.digits(2)} ${d.digits(4)}`,
      address: (street, n) => `${street} ${n}`,
    },
    BE: {
      currency: 'EUR',
      first: ['Noah', 'Olivia', 'Arthur', 'Louise', 'Victor', 'Elise', 'Mathis', 'Nora', 'Liam', 'Marie'],
      last: [
        'Peeters',
        'Janssens',
        'Maes',
        'Jacobs',
        'Mertens',
        'Willems',
        'Claes',
        'Goossens',
        'Wouters',
        'Dubois',
      ],
      companyStems: ['Brabant Verpakking', 'Ardennes Bois', 'Schelde Logistics', 'Atomium Consulting'],
      companySuffixes: ['BV', 'SRL', 'NV'],
      streets: ['Rue Neuve', 'Meir', 'Kerkstraat', 'Avenue Louise', 'Veldstraat'],
      cities: [
        { city: 'Brussel', postal: () => `10${dice.digits(2)}` },
        { city: 'Antwerpen', postal: () => '2000' },
        { city: 'Gent', postal: () => '9000' },
      ],
      phone: (d) => `+32 2 ${d.digits(3)} ${d.digits(2)} ${d.digits(2)}`,
      address: (street, n) => `${street} ${n}`,
    },
    ES: {
      currency: 'EUR',
      first: ['Lucía', 'Hugo', 'Martina', 'Mateo', 'Sofía', 'Pablo', 'Valeria', 'Álvaro', 'Carmen', 'Diego'],
      last: [
        'García',
        'Rodríguez',
        'González',
        'Fernández',
        'López',
        'Martínez',
        'Sánchez',
        'Pérez',
        'Gómez',
        'Ruiz',
      ],
      companyStems: [
        'Mediterráneo Suministros',
        'Olivares del Sur',
        'Cerámicas Levante',
        'Transportes Ibéricos',
      ],
      companySuffixes: ['S.L.', 'S.A.'],
      streets: ['Calle Mayor', 'Avenida de la Constitución', 'Calle del Sol', 'Paseo de Gracia'],
      cities: [
        { city: 'Madrid', postal: () => `280${dice.digits(2)}` },
        { city: 'Barcelona', postal: () => `080${dice.digits(2)}` },
        { city: 'Valencia', postal: () => `460${dice.digits(2)}` },
      ],
      phone: (d) => `+34 91 ${d.digits(3)} ${d.digits(2)} ${d.digits(2)}`,
      address: (street, n) => `${street}, ${n}`,
    },
  };
}

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
  const countries = profiles(dice);
  const countryCodes = Object.keys(countries) as CountryCode[];
  const base = new Date('2025-01-06T09:00:00Z');

  const customers: SeedCustomer[] = [];
  const usedEmails = new Set<string>();
  const customerCount = opts.customers ?? DEFAULT_CUSTOMER_COUNT;
  for (let id = 1; id <= customerCount; id++) {
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
      postalCode: place.postal(),
      city: place.city,
      country,
      currency: p.currency,
      createdAt: `${isoDate(base, -dice.int(30, 900))}T10:00:00Z`,
    });
  }

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
