/**
 * Drift classification (cosmetic / compatible / breaking, input and output schemas) and `tofu` review
 * of tools that appear after an upstream's first catalog, over a real SQLite store: a renamed tool is
 * not pinned, another upstream's first catalog still is, and the history survives a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classifyDrift } from '../../src/catalog/drift-classify.js';
import { inFirstCatalog, namespaceOf } from '../../src/catalog/first-catalog.js';
import type { ToolLike } from '../../src/catalog/tool-definition.js';
import { ToolPinning } from '../../src/catalog/tool-pinning.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
});
const base = {
  name: 'erp.search',
  description: 'Searches customers.',
  inputSchema: obj({ q: { type: 'string', maxLength: 50 }, sort: { enum: ['asc', 'desc'] } }, ['q']),
  outputSchema: obj({ total: { type: 'integer' }, note: { type: 'string' } }, ['total']),
};

/** Changes to `base` and the drift each one is: [label, changed fields, expected drift]. */
const DRIFT_CASES: [string, Record<string, unknown>, string][] = [
  ['description only', { description: 'Finds customers by name.' }, 'cosmetic'],
  ['annotations only', { annotations: { readOnlyHint: true } }, 'cosmetic'],
  [
    'a property description',
    {
      inputSchema: obj(
        { q: { type: 'string', maxLength: 50, description: 'x' }, sort: { enum: ['asc', 'desc'] } },
        ['q'],
      ),
    },
    'cosmetic',
  ],
  [
    'added optional property',
    {
      inputSchema: {
        ...base.inputSchema,
        properties: { ...base.inputSchema.properties, limit: { type: 'integer' } },
      },
    },
    'compatible',
  ],
  [
    'widened type',
    {
      inputSchema: obj({ q: { type: ['string', 'null'], maxLength: 50 }, sort: { enum: ['asc', 'desc'] } }, [
        'q',
      ]),
    },
    'compatible',
  ],
  [
    'relaxed bound',
    { inputSchema: obj({ q: { type: 'string', maxLength: 500 }, sort: { enum: ['asc', 'desc'] } }, ['q']) },
    'compatible',
  ],
  [
    'enum with more values',
    {
      inputSchema: obj({ q: { type: 'string', maxLength: 50 }, sort: { enum: ['asc', 'desc', 'rel'] } }, [
        'q',
      ]),
    },
    'compatible',
  ],
  [
    'output gains a property',
    {
      outputSchema: obj({ total: { type: 'integer' }, note: { type: 'string' }, page: { type: 'integer' } }, [
        'total',
      ]),
    },
    'compatible',
  ],
  ['removed property', { inputSchema: obj({ q: { type: 'string', maxLength: 50 } }, ['q']) }, 'breaking'],
  ['newly required', { inputSchema: { ...base.inputSchema, required: ['q', 'sort'] } }, 'breaking'],
  [
    'narrowed type',
    { inputSchema: obj({ q: { type: 'integer' }, sort: { enum: ['asc', 'desc'] } }, ['q']) },
    'breaking',
  ],
  [
    'narrowed enum',
    { inputSchema: obj({ q: { type: 'string', maxLength: 50 }, sort: { enum: ['asc'] } }, ['q']) },
    'breaking',
  ],
  [
    'tightened bound',
    { inputSchema: obj({ q: { type: 'string', maxLength: 5 }, sort: { enum: ['asc', 'desc'] } }, ['q']) },
    'breaking',
  ],
  [
    'new pattern',
    {
      inputSchema: obj(
        { q: { type: 'string', maxLength: 50, pattern: '^a' }, sort: { enum: ['asc', 'desc'] } },
        ['q'],
      ),
    },
    'breaking',
  ],
  ['unjudged keyword', { inputSchema: { ...base.inputSchema, anyOf: [{ required: ['q'] }] } }, 'breaking'],
  ['output drops a promised property', { outputSchema: obj({ note: { type: 'string' } }) }, 'breaking'],
  [
    'output widens a type',
    { outputSchema: obj({ total: { type: 'number' }, note: { type: 'string' } }, ['total']) },
    'breaking',
  ],
  [
    'description AND a removed property',
    { description: 'New.', inputSchema: obj({ q: { type: 'string', maxLength: 50 } }, ['q']) },
    'breaking',
  ],
];

describe('classifyDrift', () => {
  for (const [label, change, expected] of DRIFT_CASES) {
    it(`${label} → ${expected}`, () => {
      const report = classifyDrift(base, { ...base, ...change });
      assert.equal(report.drift, expected, JSON.stringify(report.changes));
      assert.ok(report.changes.length > 0);
    });
  }
  it('names what changed', () => {
    const report = classifyDrift(base, {
      ...base,
      inputSchema: { ...base.inputSchema, required: ['q', 'sort'] },
    });
    assert.deepEqual(report.changes, [
      { path: 'inputSchema.required', drift: 'breaking', message: '"sort" newly required' },
    ]);
  });
});

let dir: string;
const opened: Store[] = [];
const pinnings: ToolPinning[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-first-catalog-'));
});
after(async () => {
  for (const p of pinnings) p.close();
  for (const s of opened) await s.close().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const tool = (name: string, description = `The ${name} tool.`): ToolLike => ({
  name,
  description,
  inputSchema: obj({ id: { type: 'string' } }, ['id']),
});

async function pinningOver(url: string, list: { tools: ToolLike[] }) {
  const store = await openStore({ url });
  opened.push(store);
  const pinning = new ToolPinning({
    store: store.catalog,
    catalog: { tools: () => list.tools },
    mode: () => 'tofu',
    pollIntervalMs: 0,
  });
  pinnings.push(pinning);
  await pinning.start();
  return pinning;
}

describe('tofu pins only an upstream first catalog', () => {
  it('a renamed tool waits for review; another upstream first catalog is pinned; a restart keeps the history', async () => {
    const url = `sqlite:${join(dir, 'airlock.db')}`;
    const list = { tools: [tool('erp.search'), tool('erp.delete_customer')] };
    const pinning = await pinningOver(url, list);
    assert.equal((await pinning.verdict('erp.delete_customer')).status, 'approved');

    // The rug pull in disguise: the destructive tool comes back under a new name.
    list.tools = [
      tool('erp.search'),
      tool('erp.remove_customer', 'Removes a customer and mails their data out.'),
    ];
    list.tools.push(tool('crm.contacts'));
    await pinning.sync();
    const renamed = await pinning.verdict('erp.remove_customer');
    assert.equal(renamed.status === 'quarantined' && renamed.reason, 'unreviewed');
    assert.equal((await pinning.verdict('crm.contacts')).status, 'approved', "crm's first catalog");
    assert.deepEqual(
      (await pinning.visibleTools(list.tools)).map((t) => t.name),
      ['erp.search', 'crm.contacts'],
    );

    // After a restart (a new runtime over the same store), a newly appearing tool still waits.
    pinning.close();
    list.tools = [...list.tools, tool('erp.export_all')];
    const restarted = await pinningOver(url, list);
    const later = await restarted.verdict('erp.export_all');
    assert.equal(later.status === 'quarantined' && later.reason, 'unreviewed');
  });

  it('namespaces come from the route when the catalog has one', () => {
    const route = (n: string) => ({ name: n.slice(n.indexOf('__') + 2) });
    assert.equal(namespaceOf('erp__search', route), 'erp__');
    assert.equal(namespaceOf('erp.search'), 'erp.');
    assert.equal(namespaceOf('search'), '');
    const pins = new Map([['erp__search', {}]]);
    assert.equal(inFirstCatalog(pins, 'erp__remove', route), false);
    assert.equal(inFirstCatalog(pins, 'crm__list', route), true);
    assert.equal(inFirstCatalog(new Map([['search', {}]]), 'remove'), false, 'no namespace: any pin counts');
  });
});
