import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import type Database from 'better-sqlite3';
import { createErpServer } from '../../samples/erp/create-erp-server.js';
import { openErpDatabase } from '../../samples/erp/database.js';
import { generateSeedData, type SeedCustomer } from '../../samples/erp/seed-data.js';
import { JSONRPC_INTERNAL_ERROR, JSONRPC_INVALID_PARAMS, WireError } from '../../src/errors/wire-error.js';
import { compose } from '../../src/gateway/compose.js';
import type { Handler } from '../../src/gateway/gateway-context.js';
import { piiStage } from '../../src/gateway/stages/pii-stage.js';
import { PII_ERROR_CODES } from '../../src/pii/pii-errors.js';
import type { PiiPolicy } from '../../src/pii/pii-policy.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { deriveTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { requestContext } from '../gateway/request-context.js';

const TOKEN = /^\[\[[A-Z]+:[0-9a-f]{8,}\]\]$/;
const seed = generateSeedData();

const context = (method: string, params: Record<string, unknown>) => requestContext(method, params);

/** Same keys, same value types, all the way down: redaction never changes the shape. */
function assertSameShape(before: unknown, after: unknown, path = '$'): void {
  assert.equal(typeof after, typeof before, `${path} keeps its type`);
  assert.equal(Array.isArray(after), Array.isArray(before), `${path} stays an array or not`);
  if (before !== null && typeof before === 'object') {
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    assert.deepEqual(Object.keys(a), Object.keys(b), `${path} keeps its keys`);
    for (const k of Object.keys(b)) assertSameShape(b[k], a[k], `${path}.${k}`);
  }
}

interface Upstream {
  calls: number;
  handler: Handler;
}

let db: Database.Database;
let store: Store;
let client: Client;
let upstream: Upstream;
const acmeKeys = deriveTenantPiiKeys('acme', randomBytes(32));

before(async () => {
  db = openErpDatabase(':memory:', { seed });
  store = await openStore({ url: 'sqlite::memory:' });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await createErpServer(db).connect(serverTransport);
  client = new Client({ name: 'pii-stage-test', version: '1' });
  await client.connect(clientTransport);
  upstream = {
    calls: 0,
    handler: async (ctx) => {
      upstream.calls++;
      const p = ctx.params;
      if (ctx.method === 'tools/call')
        return client.callTool({ name: String(p.name), arguments: p.arguments as Record<string, unknown> });
      if (ctx.method === 'resources/read') return client.readResource({ uri: String(p.uri) });
      if (ctx.method === 'prompts/get')
        return client.getPrompt({ name: String(p.name), arguments: p.arguments as Record<string, string> });
      throw new Error(`unexpected ${ctx.method}`);
    },
  };
});

after(async () => {
  await client?.close();
  await store?.close();
  db?.close();
});

const pipeline = (tenant = 'acme', policy?: PiiPolicy, keys = acmeKeys) =>
  compose(
    [piiStage({ vault: new PiiVault({ tenant, keys, repository: store.vault }), policy })],
    upstream.handler,
  );

const customer = seed.customers[0] as SeedCustomer;

describe('pii stage in front of the sample ERP: results', () => {
  it('tokenizes every PII field of a customer record, in structuredContent and in the text', async () => {
    const ctx = context('tools/call', { name: 'get_customer', arguments: { id: customer.id } });
    const raw = await upstream.handler(
      context('tools/call', { name: 'get_customer', arguments: { id: customer.id } }),
    );
    const result = (await pipeline()(ctx)) as {
      content: { type: string; text: string }[];
      structuredContent: Record<string, unknown>;
    };
    const record = result.structuredContent;
    for (const field of ['name', 'email', 'phone', 'cardNumber', 'iban'] as const) {
      assert.match(String(record[field]), TOKEN, `${field} is a token`);
    }
    assert.match(String(record.email), /^\[\[EMAIL:/);
    assert.match(String(record.cardNumber), /^\[\[CARD:/);
    assert.match(String(record.iban), /^\[\[IBAN:/);
    assert.match(String(record.phone), /^\[\[PHONE:/);
    assert.match(String(record.name), /^\[\[NAME:/);
    assert.equal(record.id, customer.id, 'numbers stay numbers');
    assertSameShape((raw as { structuredContent: unknown }).structuredContent, record);
    const text = result.content.map((c) => c.text).join('\n');
    for (const value of [customer.name, customer.email, customer.phone, customer.cardNumber, customer.iban]) {
      assert.ok(!text.includes(value), `${value} must not be in the text`);
      assert.ok(!JSON.stringify(record).includes(value), `${value} must not be in structuredContent`);
    }
    for (const field of ['email', 'cardNumber', 'iban'] as const) {
      assert.ok(
        text.includes(String(record[field])),
        `the text carries the same ${field} token as structuredContent`,
      );
    }
    const decision = ctx.decisions.find((d) => d.stage === 'pii');
    assert.equal(decision?.outcome, 'modify');
    const redacted =
      (decision?.detail as { redacted?: Record<string, Record<string, number>> } | undefined)?.redacted ?? {};
    assert.ok((redacted.EMAIL?.tokenize ?? 0) >= 2 && (redacted.CARD?.tokenize ?? 0) >= 2);
    assert.ok(!JSON.stringify(ctx.decisions).includes(customer.email), 'decisions hold counts, never values');
  });
});

describe('pii stage in front of the sample ERP: tokens passed back', () => {
  it('a returned token passed back to search and update tools reaches the upstream as the real value', async () => {
    const invoice = seed.invoices.find((i) => i.status === 'open');
    const customer = seed.customers.find((c) => c.id === invoice?.customerId);
    assert.ok(invoice && customer, 'the seed has an open invoice');
    const first = (await pipeline()(
      context('tools/call', { name: 'get_customer', arguments: { id: customer.id } }),
    )) as {
      structuredContent: { email: string; name: string };
    };
    const emailToken = first.structuredContent.email;
    const nameToken = first.structuredContent.name;
    const search = context('tools/call', { name: 'search_customers', arguments: { query: emailToken } });
    const found = (await pipeline()(search)) as {
      structuredContent: { customers: { id: number; email: string }[]; total: number };
    };
    assert.equal(found.structuredContent.total, 1, 'the ERP searched for the real e-mail address');
    assert.equal(found.structuredContent.customers[0]?.id, customer.id);
    assert.equal(
      found.structuredContent.customers[0]?.email,
      emailToken,
      'the same value comes back as the same token',
    );
    assert.deepEqual(
      (search.decisions[0]?.detail as { detokenized?: Record<string, number> } | undefined)?.detokenized,
      {
        EMAIL: 1,
      },
    );

    const looked = (await pipeline()(
      context('tools/call', { name: 'lookup_invoice', arguments: { invoice_number: invoice.invoiceNumber } }),
    )) as { structuredContent: { customer: { email: string; name: string } } };
    assert.equal(looked.structuredContent.customer.email, emailToken, 'joins across tools work on tokens');
    assert.equal(looked.structuredContent.customer.name, nameToken);

    const reason = `Confirmed by phone with ${nameToken} (${emailToken})`;
    const adjusted = (await pipeline()(
      context('tools/call', {
        name: 'adjust_invoice_status',
        arguments: { invoice_number: invoice.invoiceNumber, status: 'paid', reason },
      }),
    )) as { structuredContent: { status: string; reason: string } };
    assert.equal(adjusted.structuredContent.status, 'paid');
    assert.equal(adjusted.structuredContent.reason, reason, 'the stored reason comes back tokenized again');
    const stored = db.prepare('SELECT reason FROM invoice_events ORDER BY id DESC LIMIT 1').get() as
      | { reason: string }
      | undefined;
    assert.equal(
      stored?.reason,
      `Confirmed by phone with ${customer.name} (${customer.email})`,
      'the upstream stored real values',
    );
  });
});

describe('pii stage in front of the sample ERP: foreign tokens and blocked classes', () => {
  it('refuses a token from another tenant before the upstream sees the call', async () => {
    const acme = (await pipeline()(
      context('tools/call', { name: 'get_customer', arguments: { id: customer.id } }),
    )) as {
      structuredContent: { email: string };
    };
    const globexKeys = deriveTenantPiiKeys('globex', randomBytes(32));
    const callsBefore = upstream.calls;
    const ctx = context('tools/call', {
      name: 'search_customers',
      arguments: { query: acme.structuredContent.email },
    });
    await assert.rejects(pipeline('globex', undefined, globexKeys)(ctx), (err: unknown) => {
      assert.ok(err instanceof WireError);
      assert.equal(err.rpcCode, JSONRPC_INVALID_PARAMS);
      assert.equal(err.airlockCode, PII_ERROR_CODES.unknownToken);
      assert.match(err.message, /not issued by this connector for this tenant/);
      return true;
    });
    assert.equal(upstream.calls, callsBefore, 'the upstream was never called');
    assert.equal(ctx.decisions[0]?.outcome, 'deny');
    await assert.rejects(
      pipeline()(
        context('tools/call', { name: 'search_customers', arguments: { query: '[[EMAIL:0badc0de]]' } }),
      ),
      (err: unknown) => err instanceof WireError && err.airlockCode === PII_ERROR_CODES.unknownToken,
    );
  });

  it('block withholds the whole result; other tools and classes still pass', async () => {
    const policy: PiiPolicy = {
      tools: [{ match: 'get_customer', actions: { CARD: 'block' } }],
      actions: { IBAN: 'mask' },
    };
    const ctx = context('tools/call', { name: 'get_customer', arguments: { id: customer.id } });
    await assert.rejects(pipeline('acme', policy)(ctx), (err: unknown) => {
      assert.ok(err instanceof WireError);
      assert.equal(err.rpcCode, JSONRPC_INTERNAL_ERROR);
      assert.equal(err.airlockCode, PII_ERROR_CODES.blocked);
      assert.deepEqual(err.data, { classes: ['CARD'] });
      assert.ok(!err.message.includes(customer.cardNumber));
      return true;
    });
    assert.equal(ctx.decisions.at(-1)?.code, PII_ERROR_CODES.blocked);
    const invoice = seed.invoices.find((i) => i.customerId === customer.id);
    const ok = (await pipeline(
      'acme',
      policy,
    )(
      context('tools/call', {
        name: 'lookup_invoice',
        arguments: { invoice_number: invoice?.invoiceNumber },
      }),
    )) as { structuredContent: { customer: { email: string } } };
    assert.match(ok.structuredContent.customer.email, TOKEN);
    const masked = (await pipeline('acme', { actions: { IBAN: 'mask', CARD: 'hash', EMAIL: 'allow' } })(
      context('tools/call', { name: 'get_customer', arguments: { id: customer.id } }),
    )) as { structuredContent: { iban: string; cardNumber: string; email: string } };
    assert.equal(masked.structuredContent.iban, `[MASKED:IBAN:…${customer.iban.slice(-4)}]`);
    assert.match(masked.structuredContent.cardNumber, /^\[HASH:CARD:[0-9a-f]{16}\]$/);
    assert.equal(masked.structuredContent.email, customer.email, 'allow lets the value through');
  });
});

describe('pii stage in front of the sample ERP: resources, prompts, errors and lists', () => {
  it('redacts resource contents, prompt messages and error messages', async () => {
    const read = (await pipeline()(context('resources/read', { uri: `erp://customers/${customer.id}` }))) as {
      contents: { uri: string; text: string }[];
    };
    assert.equal(
      read.contents[0]?.uri,
      `erp://customers/${customer.id}`,
      'a URI without personal data is unchanged',
    );
    assert.ok(!read.contents[0]?.text.includes(customer.email));
    assert.match(read.contents[0]?.text ?? '', /\[\[EMAIL:[0-9a-f]{8}\]\]/);

    const overdue = seed.invoices.find((i) => i.status === 'overdue');
    assert.ok(overdue);
    const owner = seed.customers.find((c) => c.id === overdue.customerId);
    const prompt = (await pipeline()(
      context('prompts/get', {
        name: 'collections_email',
        arguments: { invoice_number: overdue.invoiceNumber },
      }),
    )) as { messages: { role: string; content: { type: string; text: string } }[] };
    const text = prompt.messages[0]?.content.text ?? '';
    assert.equal(prompt.messages[0]?.content.type, 'text');
    assert.ok(
      owner && !text.includes(owner.email) && !text.includes(owner.name),
      'no raw name or e-mail in the prompt',
    );
    assert.match(text, /\[\[EMAIL:[0-9a-f]{8}\]\]/);

    const failing = compose(
      [piiStage({ vault: new PiiVault({ tenant: 'acme', keys: acmeKeys, repository: store.vault }) })],
      async () => {
        throw new WireError(
          JSONRPC_INTERNAL_ERROR,
          'AIRLOCK_TEST_UPSTREAM',
          `no mailbox for ${customer.email}`,
          { email: customer.email },
        );
      },
    );
    await assert.rejects(
      failing(context('tools/call', { name: 'notify', arguments: {} })),
      (err: unknown) => {
        assert.ok(err instanceof WireError);
        assert.equal(err.airlockCode, 'AIRLOCK_TEST_UPSTREAM');
        assert.match(err.message, /^no mailbox for \[\[EMAIL:[0-9a-f]{8}\]\]$/);
        assert.ok(!JSON.stringify(err.toJSON()).includes(customer.email));
        return true;
      },
    );
  });

  it('redacts list results too (descriptions, titles, URIs), keeping tool names callable', async () => {
    const list = compose(
      [piiStage({ vault: new PiiVault({ tenant: 'acme', keys: acmeKeys, repository: store.vault }) })],
      async () => ({
        tools: [{ name: 'mail_anna@example.com', description: 'mail anna@example.com' }],
      }),
    );
    const ctx = context('tools/list', {});
    const out = (await list(ctx)) as { tools: { name: string; description: string }[] };
    assert.equal(out.tools[0]?.name, 'mail_anna@example.com', 'tool names are identifiers');
    assert.match(out.tools[0]?.description ?? '', /^mail \[\[EMAIL:[0-9a-f]{8}\]\]$/);
    assert.equal(ctx.decisions.at(-1)?.outcome, 'modify');
  });
});
