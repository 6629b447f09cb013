import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CallToolResult, Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { generateSeedData, isValidIban, isValidLuhn } from '../../samples/erp/seed-data.js';

const SERVER = fileURLToPath(new URL('../../samples/erp/server.js', import.meta.url));
const seed = generateSeedData();

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

function structured<T>(result: CallToolResult): T {
  assert.notEqual(result.isError, true, `tool failed: ${text(result)}`);
  assert.ok(result.structuredContent !== undefined, 'structuredContent present');
  return result.structuredContent as T;
}

async function connect(dbPath: string, negotiation?: 'auto'): Promise<Client> {
  const client = new Client(
    { name: 'erp-test', version: '1.0.0' },
    negotiation ? { versionNegotiation: { mode: negotiation } } : {},
  );
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [SERVER, '--db', dbPath], stderr: 'pipe' }),
  );
  return client;
}

// One server and database for the whole file, in order: the read tests see the seed, the change tests
// change it, and the last test sees those changes from a second connection.
let dir: string;
let dbPath: string;
let client: Client;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'erp-server-'));
  dbPath = join(dir, 'erp.sqlite');
  client = await connect(dbPath);
});

after(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sample ERP server over stdio: tools', () => {
  test('creates the database file and lists seven annotated tools with schemas', async () => {
    assert.ok(existsSync(dbPath));
    assert.equal(client.getServerVersion()?.name, 'acme-erp');
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()].sort(), [
      'adjust_invoice_status',
      'delete_customer',
      'get_customer',
      'inventory_status',
      'lookup_invoice',
      'search_customers',
      'update_stock',
    ]);
    for (const t of tools) {
      assert.ok(t.description && t.description.length > 30, `${t.name} has a description`);
      assert.equal(t.inputSchema.type, 'object');
      assert.equal(t.outputSchema?.type, 'object', `${t.name} has an output schema`);
    }
    for (const name of ['lookup_invoice', 'search_customers', 'get_customer', 'inventory_status']) {
      assert.equal(byName.get(name)?.annotations?.readOnlyHint, true, `${name} is read-only`);
    }
    assert.equal(byName.get('update_stock')?.annotations?.readOnlyHint, false);
    assert.equal(byName.get('adjust_invoice_status')?.annotations?.destructiveHint, false);
    assert.equal(byName.get('delete_customer')?.annotations?.destructiveHint, true);
    const deleteSchema = byName.get('delete_customer')?.inputSchema.properties ?? {};
    const confirm = (deleteSchema as Record<string, { const?: unknown }>).confirm;
    assert.equal(confirm?.const, true);
  });

  test('unknown tools are protocol errors', async () => {
    await assert.rejects(client.callTool({ name: 'drop_database', arguments: {} }), /drop_database/);
  });
});

describe('sample ERP server over stdio: invoices', () => {
  test('lookup_invoice returns the seeded invoice with its lines and customer', async () => {
    const expected = seed.invoices[0]!;
    const customer = seed.customers.find((c) => c.id === expected.customerId)!;
    const result = await client.callTool({
      name: 'lookup_invoice',
      arguments: { invoice_number: 'inv-2025-0001' },
    });
    const invoice = structured<{
      invoiceNumber: string;
      amount: number;
      status: string;
      customer: { id: number; email: string };
      lines: { sku: string; quantity: number }[];
    }>(result);
    assert.equal(invoice.invoiceNumber, 'INV-2025-0001');
    assert.equal(invoice.amount, expected.amountCents / 100);
    assert.equal(invoice.status, expected.status);
    assert.deepEqual(invoice.customer.id, customer.id);
    assert.equal(invoice.customer.email, customer.email);
    assert.deepEqual(
      invoice.lines.map((l) => [l.sku, l.quantity]),
      expected.lines.map((l) => [l.sku, l.quantity]),
    );
    assert.match(text(result), /INV-2025-0001/);
  });

  test('lookup_invoice reports unknown and malformed numbers as tool errors', async () => {
    const unknown = await client.callTool({
      name: 'lookup_invoice',
      arguments: { invoice_number: 'INV-2099-9999' },
    });
    assert.equal(unknown.isError, true);
    assert.match(text(unknown), /No invoice INV-2099-9999/);
    const malformed = await client.callTool({
      name: 'lookup_invoice',
      arguments: { invoice_number: 'hello' },
    });
    assert.equal(malformed.isError, true);
    assert.match(text(malformed), /INV-2025-0042/);
  });
});

describe('sample ERP server over stdio: customers', () => {
  test('search_customers matches name, company and e-mail and honours the limit', async () => {
    const target = seed.customers[4]!;
    const last = target.name.split(' ').slice(1).join(' ');
    const expected = seed.customers.filter((c) =>
      [c.name, c.company, c.email].some((v) => v.toLowerCase().includes(last.toLowerCase())),
    );
    const all = structured<{ customers: { id: number; name: string }[]; total: number }>(
      await client.callTool({ name: 'search_customers', arguments: { query: last, limit: 50 } }),
    );
    assert.equal(all.total, expected.length);
    assert.deepEqual(
      all.customers.map((c) => c.id).sort((a, b) => a - b),
      expected.map((c) => c.id).sort((a, b) => a - b),
    );
    const byEmail = structured<{ customers: { id: number }[] }>(
      await client.callTool({ name: 'search_customers', arguments: { query: target.email.toUpperCase() } }),
    );
    assert.deepEqual(
      byEmail.customers.map((c) => c.id),
      [target.id],
    );
    const limited = structured<{ customers: unknown[]; total: number }>(
      await client.callTool({ name: 'search_customers', arguments: { query: '.example', limit: 3 } }),
    );
    assert.equal(limited.customers.length, 3);
    assert.equal(limited.total, 50);
    const tooMany = await client.callTool({
      name: 'search_customers',
      arguments: { query: 'a', limit: 500 },
    });
    assert.equal(tooMany.isError, true);
  });

  test('get_customer returns the full record with valid payment details', async () => {
    const expected = seed.customers[2]!;
    const customer = structured<{
      email: string;
      iban: string;
      cardNumber: string;
      phone: string;
      address: { city: string };
      invoices: { total: number };
    }>(await client.callTool({ name: 'get_customer', arguments: { id: expected.id } }));
    assert.equal(customer.email, expected.email);
    assert.equal(customer.iban, expected.iban);
    assert.ok(isValidIban(customer.iban));
    assert.ok(isValidLuhn(customer.cardNumber));
    assert.equal(customer.phone, expected.phone);
    assert.equal(customer.address.city, expected.city);
    assert.equal(customer.invoices.total, seed.invoices.filter((i) => i.customerId === expected.id).length);
    const missing = await client.callTool({ name: 'get_customer', arguments: { id: 9999 } });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /No customer with id 9999/);
  });
});

describe('sample ERP server over stdio: inventory', () => {
  test('inventory_status returns one SKU or the low-stock list', async () => {
    const item = seed.inventory[7]!;
    const one = structured<{ mode: string; items: { sku: string; quantity: number }[] }>(
      await client.callTool({ name: 'inventory_status', arguments: { sku: item.sku } }),
    );
    assert.equal(one.mode, 'sku');
    assert.deepEqual(
      one.items.map((i) => [i.sku, i.quantity]),
      [[item.sku, item.quantity]],
    );
    const low = structured<{ mode: string; items: { sku: string; lowStock: boolean }[] }>(
      await client.callTool({ name: 'inventory_status', arguments: {} }),
    );
    assert.equal(low.mode, 'low_stock');
    assert.deepEqual(
      low.items.map((i) => i.sku).sort(),
      seed.inventory
        .filter((i) => i.quantity <= i.reorderLevel)
        .map((i) => i.sku)
        .sort(),
    );
    assert.ok(low.items.every((i) => i.lowStock));
    const missing = await client.callTool({ name: 'inventory_status', arguments: { sku: 'SKU-99999' } });
    assert.equal(missing.isError, true);
  });

  test('update_stock adds and removes units but never below zero', async () => {
    const item = seed.inventory[3]!;
    const added = structured<{ previousQuantity: number; quantity: number }>(
      await client.callTool({ name: 'update_stock', arguments: { sku: item.sku, delta: 5 } }),
    );
    assert.deepEqual(added, {
      sku: item.sku,
      previousQuantity: item.quantity,
      quantity: item.quantity + 5,
      lowStock: item.quantity + 5 <= item.reorderLevel,
    });
    const tooMuch = await client.callTool({
      name: 'update_stock',
      arguments: { sku: item.sku, delta: -(item.quantity + 6) },
    });
    assert.equal(tooMuch.isError, true);
    assert.match(text(tooMuch), /below zero/);
    const zero = await client.callTool({ name: 'update_stock', arguments: { sku: item.sku, delta: 0 } });
    assert.equal(zero.isError, true);
    const missing = await client.callTool({
      name: 'update_stock',
      arguments: { sku: 'SKU-99999', delta: 1 },
    });
    assert.equal(missing.isError, true);
  });
});

describe('sample ERP server over stdio: changes', () => {
  test('adjust_invoice_status records the change and refuses forbidden transitions', async () => {
    const open = seed.invoices.find((i) => i.status === 'open')!;
    const change = structured<{ previousStatus: string; status: string; reason: string }>(
      await client.callTool({
        name: 'adjust_invoice_status',
        arguments: { invoice_number: open.invoiceNumber, status: 'paid', reason: 'bank transfer received' },
      }),
    );
    assert.deepEqual(
      [change.previousStatus, change.status, change.reason],
      ['open', 'paid', 'bank transfer received'],
    );
    const after = structured<{ status: string; history: { from: string; to: string; reason: string }[] }>(
      await client.callTool({ name: 'lookup_invoice', arguments: { invoice_number: open.invoiceNumber } }),
    );
    assert.equal(after.status, 'paid');
    assert.deepEqual(
      after.history.map((h) => [h.from, h.to, h.reason]),
      [['open', 'paid', 'bank transfer received']],
    );
    const back = await client.callTool({
      name: 'adjust_invoice_status',
      arguments: { invoice_number: open.invoiceNumber, status: 'overdue', reason: 'oops' },
    });
    assert.equal(back.isError, true);
    assert.match(text(back), /cannot become overdue/);
    const unknown = await client.callTool({
      name: 'adjust_invoice_status',
      arguments: { invoice_number: 'INV-2099-0001', status: 'void', reason: 'duplicate' },
    });
    assert.equal(unknown.isError, true);
    const badStatus = await client.callTool({
      name: 'adjust_invoice_status',
      arguments: { invoice_number: open.invoiceNumber, status: 'open', reason: 'reopen' },
    });
    assert.equal(badStatus.isError, true);
  });

  test('delete_customer needs confirm: true and removes the customer with their invoices', async () => {
    const victim = seed.customers[9]!;
    const unconfirmed = await client.callTool({
      name: 'delete_customer',
      arguments: { id: victim.id, confirm: false },
    });
    assert.equal(unconfirmed.isError, true);
    const deleted = structured<{ id: number; invoicesDeleted: number }>(
      await client.callTool({ name: 'delete_customer', arguments: { id: victim.id, confirm: true } }),
    );
    assert.equal(deleted.id, victim.id);
    assert.equal(deleted.invoicesDeleted, seed.invoices.filter((i) => i.customerId === victim.id).length);
    const gone = await client.callTool({ name: 'get_customer', arguments: { id: victim.id } });
    assert.equal(gone.isError, true);
    const again = await client.callTool({
      name: 'delete_customer',
      arguments: { id: victim.id, confirm: true },
    });
    assert.equal(again.isError, true);
  });
});

describe('sample ERP server over stdio: resources', () => {
  test('resources: customer template, listing and daily report', async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(
      resourceTemplates.map((t) => t.uriTemplate),
      ['erp://customers/{id}'],
    );
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    assert.ok(uris.includes('erp://reports/daily'));
    assert.ok(uris.includes('erp://customers/1'));
    const expected = seed.customers[1]!;
    const read = await client.readResource({ uri: `erp://customers/${expected.id}` });
    const first = read.contents[0]!;
    assert.equal(first.mimeType, 'application/json');
    assert.ok('text' in first);
    assert.equal(JSON.parse(first.text).email, expected.email);
    const report = await client.readResource({ uri: 'erp://reports/daily' });
    const body = report.contents[0]!;
    assert.ok('text' in body);
    const parsed = JSON.parse(body.text) as {
      customers: number;
      invoices: Record<string, number>;
      lowStockSkus: string[];
    };
    assert.ok(parsed.customers >= 49);
    assert.ok(Object.values(parsed.invoices).reduce((a, b) => a + b, 0) > 150);
    assert.ok(Array.isArray(parsed.lowStockSkus));
    await assert.rejects(client.readResource({ uri: 'erp://customers/9999' }));
    const completion = await client.complete({
      ref: { type: 'ref/resource', uri: 'erp://customers/{id}' },
      argument: { name: 'id', value: '4' },
    });
    assert.ok(completion.completion.values.includes('4'));
    assert.ok(completion.completion.values.every((v) => v.startsWith('4')));
  });
});

describe('sample ERP server over stdio: prompts', () => {
  test('collections_email prompt drafts a reminder for an overdue invoice', async () => {
    const { prompts } = await client.listPrompts();
    assert.deepEqual(
      prompts.map((p) => p.name),
      ['collections_email'],
    );
    const overdue = seed.invoices.find((i) => i.status === 'overdue')!;
    const customer = seed.customers.find((c) => c.id === overdue.customerId)!;
    const prompt = await client.getPrompt({
      name: 'collections_email',
      arguments: { invoice_number: overdue.invoiceNumber },
    });
    const message = prompt.messages[0]!;
    assert.equal(message.role, 'user');
    assert.ok(message.content.type === 'text');
    assert.ok(message.content.text.includes(overdue.invoiceNumber));
    assert.ok(message.content.text.includes(customer.name));
    assert.ok(message.content.text.includes((overdue.amountCents / 100).toFixed(2)));
    const paid = seed.invoices.find((i) => i.status === 'paid')!;
    await assert.rejects(
      client.getPrompt({ name: 'collections_email', arguments: { invoice_number: paid.invoiceNumber } }),
      /not overdue/,
    );
    await assert.rejects(
      client.getPrompt({ name: 'collections_email', arguments: { invoice_number: 'INV-2099-0001' } }),
    );
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'collections_email' },
      argument: { name: 'invoice_number', value: 'INV-2025-0' },
    });
    const overdueNumbers = new Set(
      seed.invoices.filter((i) => i.status === 'overdue').map((i) => i.invoiceNumber),
    );
    assert.ok(completion.completion.values.length > 0);
    assert.ok(completion.completion.values.every((v) => overdueNumbers.has(v)));
  });
});

describe('sample ERP server over stdio: a second connection', () => {
  test('a second connection negotiating the 2026 era sees the changes made before', async () => {
    const modern = await connect(dbPath, 'auto');
    try {
      assert.equal(modern.getProtocolEra(), 'modern');
      const victim = seed.customers[9]!;
      const gone = await modern.callTool({ name: 'get_customer', arguments: { id: victim.id } });
      assert.equal(gone.isError, true);
      const item = seed.inventory[3]!;
      const now = structured<{ items: { quantity: number }[] }>(
        await modern.callTool({ name: 'inventory_status', arguments: { sku: item.sku } }),
      );
      assert.equal(now.items[0]?.quantity, item.quantity + 5);
    } finally {
      await modern.close();
    }
  });
});
