import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProtocolError } from '@modelcontextprotocol/server';
import { WireError } from '../../src/errors/wire-error.js';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import type { UpstreamConfig } from '../../src/mcp/upstream-config.js';
import { captureLogger } from '../fixtures/log-capture.js';
import { until } from '../fixtures/wait-until.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;

// `fx` prefixes its tools with `2_`, so with separator `_` its `2_echo` becomes `fx_2_echo` — the same name
// as `echo` of upstream `fx_2`. Both also serve fixture://info and fixture://items/{id}.
const UPSTREAMS: UpstreamConfig[] = [
  {
    name: 'fx',
    kind: 'stdio',
    command: process.execPath,
    args: [FIXTURE],
    env: { FIXTURE_TOOL_PREFIX: '2_', FIXTURE_INFO_TEXT: 'from fx' },
    protocol: 'legacy',
  },
  {
    name: 'fx_2',
    kind: 'stdio',
    command: process.execPath,
    args: [FIXTURE],
    env: { FIXTURE_INFO_TEXT: 'from fx_2' },
    protocol: 'legacy',
  },
];

describe('UpstreamCatalog with colliding upstreams (separator "_")', () => {
  let catalog: UpstreamCatalog;
  const { logger, lines } = captureLogger();
  before(async () => {
    catalog = UpstreamCatalog.fromConfig(UPSTREAMS, { separator: '_', logger });
    await catalog.start();
  });
  after(() => catalog.close());

  it('namespaces tools and prompts and resolves collisions by config order, logging them', async () => {
    const names = catalog.tools().map((t) => t.name);
    assert.ok(names.includes('fx_2_echo') && names.includes('fx_2_progress') && names.includes('fx_2_crash'));
    assert.equal(names.filter((n) => n === 'fx_2_echo').length, 1, 'no duplicate names are listed');
    const route = catalog.resolveTool('fx_2_echo');
    assert.equal(route?.upstream.name, 'fx', 'the first upstream in config order wins');
    assert.equal(route?.name, '2_echo');
    const result = await catalog.callTool({ name: 'fx_2_echo', arguments: { text: 'who' } });
    assert.deepEqual(result.structuredContent, { echoed: 'who' });
    assert.ok(
      lines.some(
        (l) =>
          l.msg === 'tool name collision' &&
          l.tool === 'fx_2_echo' &&
          l.kept === 'fx' &&
          l.dropped === 'fx_2',
      ),
    );
    assert.deepEqual(
      catalog
        .prompts()
        .map((p) => p.name)
        .sort(),
      ['fx_2_greet', 'fx_2_refuse', 'fx_greet', 'fx_refuse'],
    );
  });

  it('routes resources by URI table and templates, first upstream wins on collisions', async () => {
    assert.deepEqual(
      catalog.resources().map((r) => r.uri),
      ['fixture://info'],
    );
    assert.equal(catalog.resolveResource('fixture://info')?.name, 'fx');
    const info = await catalog.readResource({ uri: 'fixture://info' });
    assert.deepEqual(info.contents, [{ uri: 'fixture://info', text: 'from fx' }]);
    assert.equal(catalog.resolveResource('fixture://items/9')?.name, 'fx');
    const item = await catalog.readResource({ uri: 'fixture://items/9' });
    assert.deepEqual(item.contents, [{ uri: 'fixture://items/9', text: 'item 9' }]);
    assert.equal(catalog.resourceTemplates().length, 1);
    await assert.rejects(
      catalog.readResource({ uri: 'other://x' }),
      (err: unknown) => err instanceof ProtocolError && err.code === -32602,
    );
    await assert.rejects(
      catalog.getPrompt({ name: 'nope' }),
      (err: unknown) => err instanceof WireError && err.airlockCode === 'AIRLOCK_PROMPT_UNKNOWN',
    );
  });

  it('refreshes on the upstream list_changed and tells listeners', async () => {
    const changes: string[] = [];
    const off = catalog.onChanged((kind) => changes.push(kind));
    try {
      await catalog.callTool({ name: 'fx_2_add_tool', arguments: { name: 'late' } });
      await until('the catalog refreshed', () => catalog.resolveTool('fx_late'));
      assert.deepEqual(changes, ['tools']);
      assert.equal(catalog.resolveTool('fx_late')?.name, 'late');
    } finally {
      off();
    }
  });
});

describe('UpstreamCatalog with the default separator', () => {
  it('keeps both upstreams apart: no collisions with "."', async () => {
    const catalog = UpstreamCatalog.fromConfig(UPSTREAMS);
    try {
      await catalog.start();
      const names = catalog.tools().map((t) => t.name);
      assert.ok(names.includes('fx.2_echo') && names.includes('fx_2.echo'));
      assert.equal(new Set(names).size, names.length);
      assert.equal(names.length, 14);
      assert.deepEqual(
        catalog.status().map((s) => [s.name, s.state]),
        [
          ['fx', 'ready'],
          ['fx_2', 'ready'],
        ],
      );
    } finally {
      await catalog.close();
    }
  });

  it('rejects duplicate upstream names and bad separators', () => {
    assert.throws(
      () => UpstreamCatalog.fromConfig([UPSTREAMS[0] as UpstreamConfig, UPSTREAMS[0] as UpstreamConfig]),
      /duplicate/,
    );
    assert.throws(() => UpstreamCatalog.fromConfig(UPSTREAMS, { separator: '' }), /separator/);
  });
});
