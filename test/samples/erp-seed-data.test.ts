import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openErpDatabase } from '../../samples/erp/database.js';
import { buildIban, generateSeedData, isValidIban, isValidLuhn } from '../../samples/erp/seed-data.js';

test('seed data is deterministic and has the documented size', () => {
  const a = generateSeedData();
  const b = generateSeedData();
  assert.deepEqual(a, b);
  assert.equal(a.customers.length, 50);
  assert.equal(a.invoices.length, 200);
  assert.equal(a.inventory.length, 40);
  assert.notDeepEqual(generateSeedData({ seed: 1 }).customers, a.customers);
});

test('every customer has a valid IBAN, a Luhn-valid test card and a unique e-mail', () => {
  const { customers } = generateSeedData();
  const countries = new Set(customers.map((c) => c.iban.slice(0, 2)));
  assert.ok(countries.size >= 6, `IBANs from ${[...countries].join(',')}`);
  for (const c of customers) {
    assert.ok(isValidIban(c.iban), `${c.iban} is a valid IBAN`);
    assert.equal(c.iban.slice(0, 2), c.country);
    assert.ok(isValidLuhn(c.cardNumber), `${c.cardNumber} passes Luhn`);
    assert.match(c.email, /^[a-z0-9.-]+@[a-z0-9-]+\.example$/);
    assert.match(c.phone, /^\+\d{2} [\d ]+$/);
  }
  assert.equal(new Set(customers.map((c) => c.email)).size, customers.length);
});

test('IBAN and Luhn helpers agree with published examples', () => {
  assert.equal(buildIban('DE', '370400440532013000'), 'DE89370400440532013000');
  assert.equal(buildIban('GB', 'NWBK60161331926819'), 'GB29NWBK60161331926819');
  assert.ok(isValidIban('FR14 2004 1010 0505 0001 3M02 606'));
  assert.ok(!isValidIban('DE88370400440532013000'));
  assert.ok(isValidLuhn('4111 1111 1111 1111'));
  assert.ok(!isValidLuhn('4111 1111 1111 1112'));
});

test('invoice amounts equal the sum of their lines and reference known customers and SKUs', () => {
  const { customers, invoices, inventory } = generateSeedData();
  const ids = new Set(customers.map((c) => c.id));
  const skus = new Set(inventory.map((i) => i.sku));
  for (const inv of invoices) {
    assert.ok(ids.has(inv.customerId));
    assert.equal(
      inv.amountCents,
      inv.lines.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0),
    );
    for (const l of inv.lines) assert.ok(skus.has(l.sku));
  }
  const statuses = new Set(invoices.map((i) => i.status));
  assert.deepEqual([...statuses].sort(), ['open', 'overdue', 'paid', 'void']);
  assert.ok(
    inventory.some((i) => i.quantity <= i.reorderLevel),
    'some items start low on stock',
  );
});

test('openErpDatabase creates and seeds a file once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'erp-db-'));
  try {
    const path = join(dir, 'erp.sqlite');
    const first = openErpDatabase(path);
    first.prepare('DELETE FROM inventory WHERE sku = ?').run('SKU-10001');
    first.close();
    const second = openErpDatabase(path);
    const counts = second
      .prepare(
        'SELECT (SELECT count(*) FROM customers) AS c, (SELECT count(*) FROM invoices) AS i, (SELECT count(*) FROM inventory) AS s',
      )
      .get() as { c: number; i: number; s: number };
    second.close();
    assert.deepEqual(
      counts,
      { c: 50, i: 200, s: 39 },
      'the second open keeps existing data and does not reseed',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
