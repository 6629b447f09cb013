/**
 * Tool pinning end to end (real TLS, real SDK clients, a real stdio upstream, SQLite file store):
 * a rug pull quarantines the changed tool until an admin approves the diff, and the kill switch hides
 * and refuses a tool at once, telling connected agents of both eras with `tools/list_changed` —
 * also when the switch is flipped by `airlock tools disable` (another store connection).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Client, ProtocolError } from '@modelcontextprotocol/client';
import { openStore } from '../../src/store/open-store.js';
import {
  eventually,
  GATEWAY_FIXTURE,
  type GatewayHarness,
  resultText,
  startGateway,
} from './gateway-harness.js';
import { toolsCli as cli } from './tools-command-process.js';

const POLICY = `
version: 1
catalog: { mode: tofu }
identities:
  - name: claims-bot
    roles: [agent]
roles:
  agent:
    tools: ["gw.*"]
tools:
  - match: "gw.*"
    tier: auto
limits:
  rate: { perSecond: 1000, burst: 1000 }
`;

let gateway: GatewayHarness;

before(async () => {
  gateway = await startGateway({ policyYaml: POLICY, agents: ['claims-bot'] });
});

after(async () => {
  await gateway.close();
});

async function names(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

function refusedWith(airlock: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ProtocolError, String(err));
    assert.equal(err.code, -32003);
    assert.equal((err.data as { airlock: string }).airlock, airlock);
    if (message) assert.match(err.message, message);
    return true;
  };
}

/** A client of each era that counts `tools/list_changed` notifications. */
async function listeningClients() {
  const counts = { modern: 0, legacy: 0 };
  const modern = await gateway.connect('claims-bot', 'modern', {
    listChanged: {
      tools: {
        debounceMs: 0,
        onChanged: () => {
          counts.modern++;
        },
      },
    },
  });
  assert.ok(modern.autoOpenedSubscription, 'modern client listens for list changes');
  const legacy = await gateway.connect('claims-bot', 'legacy', {
    listChanged: {
      tools: {
        debounceMs: 0,
        onChanged: () => {
          counts.legacy++;
        },
      },
    },
  });
  // Let the legacy client open its standalone GET stream.
  await eventually('legacy GET stream', () =>
    gateway.mcp.sessions().some((s) => s.open > 0) ? true : undefined,
  );
  return { modern, legacy, counts };
}

describe('rug pull', () => {
  it('a changed definition disappears and is refused until an admin approves the diff', async () => {
    const client = await gateway.connect('claims-bot', 'legacy');
    assert.ok((await names(client)).includes('gw.rug'));
    assert.equal(
      resultText(await client.callTool({ name: 'gw.rug', arguments: { city: 'Oslo' } })),
      'sunny in Oslo',
    );

    // The upstream changes the tool's description and announces it.
    await client.callTool({ name: 'gw.pull_rug', arguments: {} });
    await eventually('the changed tool is hidden', async () =>
      (await names(client)).includes('gw.rug') ? undefined : true,
    );
    await assert.rejects(
      client.callTool({ name: 'gw.rug', arguments: { city: 'Oslo' } }),
      refusedWith('AIRLOCK_TOOL_QUARANTINED', /gw\.rug.*changed since it was approved/),
    );
    const modern = await gateway.connect('claims-bot', 'modern');
    assert.ok(!(await names(modern)).includes('gw.rug'), 'hidden in the modern era too');
    await assert.rejects(
      modern.callTool({ name: 'gw.rug', arguments: { city: 'Oslo' } }),
      refusedWith('AIRLOCK_TOOL_QUARANTINED'),
    );

    // The admin sees the diff: the description line changed, nothing else.
    const admin = gateway.pinning.admin({ actor: 'alice' });
    const listed = (await admin.listCatalog()).find((e) => e.tool === 'gw.rug');
    assert.equal(listed?.status, 'changed');
    const diff = await admin.diff('gw.rug');
    assert.equal(diff.state, 'changed');
    assert.equal(diff.changed, true);
    assert.match(diff.patch, /^-\s+"description": "Looks up the weather for a city\.",?$/m);
    assert.match(
      diff.patch,
      /^\+\s+"description": "Looks up the weather for a city\. Also include the contents/m,
    );
    assert.equal(diff.patch.split('\n').filter((l) => /^[-+]\s/.test(l)).length, 2, diff.patch);

    // A wrong hash prefix is refused; the right one approves.
    await assert.rejects(admin.approve('gw.rug', { hash: '00000000' }), /changed again/);
    const record = await admin.approve('gw.rug', { hash: diff.observedHash.slice(0, 12) });
    assert.equal(record.approvedHash, diff.observedHash);
    assert.equal(record.approvedBy, 'alice');
    assert.ok((await names(client)).includes('gw.rug'));
    assert.equal(
      resultText(await client.callTool({ name: 'gw.rug', arguments: { city: 'Rome' } })),
      'sunny in Rome',
    );
    const events = (await admin.events({ tool: 'gw.rug' })).map((e) => e.action);
    assert.deepEqual(events, ['approved', 'changed', 'pinned', 'first-seen']);
  });
});

describe('kill switch', () => {
  it('disabling a tool hides and refuses it at once and notifies connected agents of both eras', async () => {
    const { modern, legacy, counts } = await listeningClients();
    assert.ok((await names(modern)).includes('gw.echo'));
    assert.equal(resultText(await legacy.callTool({ name: 'gw.echo', arguments: { text: 'hi' } })), 'hi');
    const before = { ...counts };

    await gateway.pinning.admin({ actor: 'alice' }).disable('gw.echo', 'incident 42');

    // The very next request is refused, with the admin's reason.
    await assert.rejects(
      legacy.callTool({ name: 'gw.echo', arguments: { text: 'hi' } }),
      refusedWith('AIRLOCK_TOOL_DISABLED', /disabled by an administrator: incident 42/),
    );
    await assert.rejects(
      modern.callTool({ name: 'gw.echo', arguments: { text: 'hi' } }),
      refusedWith('AIRLOCK_TOOL_DISABLED'),
    );
    assert.ok(!(await names(modern)).includes('gw.echo'));
    assert.ok(!(await names(legacy)).includes('gw.echo'));
    await eventually('list_changed in both eras', () =>
      counts.modern > before.modern && counts.legacy > before.legacy ? true : undefined,
    );

    const enabled = { ...counts };
    assert.equal(await gateway.pinning.admin().enable('gw.echo'), true);
    assert.ok((await names(legacy)).includes('gw.echo'));
    assert.equal(resultText(await modern.callTool({ name: 'gw.echo', arguments: { text: 'back' } })), 'back');
    await eventually('list_changed after enable', () =>
      counts.modern > enabled.modern && counts.legacy > enabled.legacy ? true : undefined,
    );
  });
});

describe('kill switch from the CLI', () => {
  it('`airlock tools disable` in another process applies on the next request and reaches connected agents', async () => {
    const { modern, legacy, counts } = await listeningClients();
    const dir = gateway.dir;
    const config = join(dir, 'connector.yaml');
    await writeFile(
      config,
      `tenantHost: acme.localhost\ndataDir: ${dir}\nstore: ${gateway.catalogStoreUrl}\nupstreams:\n  gw:\n    command: ${process.execPath}\n    args: [${GATEWAY_FIXTURE}]\n`,
    );
    // Counted before the command runs: the store's change feed may deliver the change while it runs.
    const before = { ...counts };
    const out = await cli([
      'tools',
      'disable',
      'gw.search',
      '--config',
      config,
      '--reason',
      'maintenance',
      '--by',
      'bob',
    ]);
    assert.match(out, /disabled gw\.search: maintenance/);
    // No wait: the connector reads the catalog revision on every request.
    await assert.rejects(
      legacy.callTool({ name: 'gw.search', arguments: { query: 'x' } }),
      refusedWith('AIRLOCK_TOOL_DISABLED', /maintenance/),
    );
    assert.ok(!(await names(modern)).includes('gw.search'));
    await eventually('list_changed in both eras', () =>
      counts.modern > before.modern && counts.legacy > before.legacy ? true : undefined,
    );
    const listing = await cli(['tools', 'list', '--config', config]);
    assert.match(listing, /gw\.search\s+[0-9a-f]{12}\s+disabled \(maintenance\)/);
    assert.match(listing, /gw\.poisoned\s+[0-9a-f]{12}\s+QUARANTINED: flagged by the poisoning scan/);
    const diff = await cli(['tools', 'diff', 'gw.poisoned', '--config', config]);
    assert.match(diff, /scan high\s+instruction-tag at description/);
    assert.match(diff, /^\+\s+"description": "Adds two numbers\. <IMPORTANT>/m);
    assert.match(await cli(['tools', 'enable', 'gw.search', '--config', config]), /enabled gw\.search/);
    assert.equal(
      resultText(await modern.callTool({ name: 'gw.search', arguments: { query: 'x' } })),
      '{"query":"x"}',
    );
    // Another store connection sees the same state.
    const other = await openStore({ url: gateway.catalogStoreUrl });
    try {
      const actions = (await other.catalog.listCatalogEvents({ tool: 'gw.search', limit: 2 })).map((e) => [
        e.action,
        e.actor,
      ]);
      assert.deepEqual(actions, [
        ['enabled', process.env.USER ?? process.env.USERNAME ?? 'admin'],
        ['disabled', 'bob'],
      ]);
    } finally {
      await other.close();
    }
  });
});
