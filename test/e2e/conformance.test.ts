/**
 * Protocol transparency, quick version of `npm run conformance`: a representative subset of the
 * official conformance suite's server scenarios, run against the fixture server directly and through
 * Airlock (local forwarder → relay → tunnel → connector → the fixture as HTTP upstream), must pass
 * both ways. The full active suite runs in scripts/conformance.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  compareConformance,
  runConformance,
  startThroughAirlock,
  type ThroughAirlock,
} from '../../scripts/conformance.js';
import { connectorConfigSchema } from '../../src/connector/config-schema.js';
import { type ConformanceServer, startConformanceServer } from '../fixtures/conformance-server.js';

const SUBSET = [
  'server-initialize',
  'ping',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-with-progress',
  'resources-read-text',
  'prompts-get-simple',
];

describe('e2e: conformance scenarios directly and through Airlock', () => {
  let fixture: ConformanceServer;
  let airlock: ThroughAirlock;

  before(async () => {
    fixture = await startConformanceServer();
    airlock = await startThroughAirlock(fixture.url);
  });

  after(async () => {
    await airlock?.close();
    await fixture?.close();
  });

  test('the connector serves the single upstream un-namespaced', () => {
    const tenant = airlock.stack.tenant('conformance');
    const tools = tenant.connector.catalog.tools().map((t) => t.name);
    assert.ok(tools.includes('test_simple_text'), tools.join(', '));
    assert.ok(!tools.some((t) => t.startsWith('conf.')));
    assert.match(airlock.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  test('the subset passes directly and through Airlock: same passing set', async () => {
    // One CLI process per scenario; both legs at once to keep the test short.
    const [direct, through] = await Promise.all([
      runConformance(fixture.url, { scenarios: SUBSET, concurrency: 2 }),
      runConformance(airlock.url, { scenarios: SUBSET, concurrency: 2 }),
    ]);
    const explain = (r: typeof direct) =>
      r.raw.scenarios
        .filter((s) => !s.passed)
        .map((s) => `${s.scenario}: ${s.checks.map((c) => c.errorMessage ?? c.status).join('; ')}`)
        .join('\n');
    assert.deepEqual([...direct.passed].sort(), [...SUBSET].sort(), explain(direct));
    assert.deepEqual([...through.passed].sort(), [...SUBSET].sort(), explain(through));
    const comparison = compareConformance(direct, through);
    assert.equal(comparison.samePassingSet, true);
    assert.deepEqual(comparison.onlyDirect, []);
    assert.deepEqual(comparison.onlyAirlock, []);
    // Every scenario really ran and checked something both ways.
    for (const s of [...direct.raw.scenarios, ...through.raw.scenarios]) {
      assert.ok(
        s.checks.some((c) => c.status === 'SUCCESS'),
        `${s.scenario} has no successful check`,
      );
    }
  });

  test('mcp.namespace "none" is refused with more than one upstream', () => {
    const config = (upstreams: Record<string, unknown>) => ({
      mcp: { namespace: 'none' },
      upstreams,
    });
    const one = connectorConfigSchema.safeParse(config({ conf: { url: 'http://127.0.0.1:1/mcp' } }));
    assert.equal(one.success, true);
    assert.equal(one.data?.mcp.namespace, 'none');
    const two = connectorConfigSchema.safeParse(
      config({ a: { url: 'http://127.0.0.1:1/mcp' }, b: { url: 'http://127.0.0.1:2/mcp' } }),
    );
    assert.equal(two.success, false);
    const issue = two.error?.issues.find((i) => i.path.join('.') === 'mcp.namespace');
    assert.match(issue?.message ?? '', /exactly one upstream/);
    assert.equal(
      connectorConfigSchema.parse(config({ a: { url: 'http://x/mcp' } })).mcp.namespaceSeparator,
      '.',
    );
  });
});
