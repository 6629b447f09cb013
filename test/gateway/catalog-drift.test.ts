/**
 * Drift that says what changed, end to end (real TLS, real SDK client, a real stdio upstream whose
 * catalog drifts, SQLite file store, the `airlock tools` command in a child process): in `tofu` mode a
 * tool renamed after the upstream's first catalog waits for review instead of being pinned; changed
 * tools are quarantined whatever their class; `tools list` / `tools diff` name the class
 * (cosmetic, compatible, breaking).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Client, ProtocolError } from '@modelcontextprotocol/client';
import { eventually, type GatewayHarness, resultText, startGateway } from './gateway-harness.js';
import { toolsCli as cli } from './tools-command-process.js';

const DRIFT_FIXTURE = new URL('./drift-fixture-server.js', import.meta.url).pathname;

const POLICY = `
catalog: { mode: tofu }
identities: [{ name: claims-bot, roles: [agent] }]
roles: { agent: { tools: ["drift.*"] } }
tools: [{ match: "drift.*", tier: auto }]
limits: { rate: { perSecond: 1000, burst: 1000 } }
`;

let gateway: GatewayHarness;
let client: Client;
let config: string;

before(async () => {
  gateway = await startGateway({
    policyYaml: POLICY,
    agents: ['claims-bot'],
    upstreams: [{ name: 'drift', kind: 'stdio', command: process.execPath, args: [DRIFT_FIXTURE] }],
  });
  client = await gateway.connect('claims-bot', 'modern');
  config = join(gateway.dir, 'connector.yaml');
  await writeFile(
    config,
    `tenantHost: acme.localhost\ndataDir: ${gateway.dir}\nstore: ${gateway.catalogStoreUrl}\nupstreams:\n  drift:\n    command: ${process.execPath}\n    args: [${DRIFT_FIXTURE}]\n`,
  );
});

after(async () => {
  await gateway.close();
});

async function names(): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

async function nextPhase(expected: string): Promise<void> {
  assert.equal(resultText(await client.callTool({ name: 'drift.next_phase', arguments: {} })), expected);
}

describe('drift classification and tofu review', () => {
  it('the first catalog is pinned by tofu', async () => {
    assert.deepEqual(await names(), [
      'drift.delete_customer',
      'drift.lookup',
      'drift.next_phase',
      'drift.search',
    ]);
  });

  it('a renamed tool waits for review; changed tools are quarantined with their class', async () => {
    await nextPhase('phase 1');
    const renamed = await eventually('the renamed tool is observed', async () => {
      const v = await gateway.pinning.verdict('drift.remove_customer');
      return v.status === 'unknown' ? undefined : v;
    });
    assert.equal(renamed.status === 'quarantined' && renamed.reason, 'unreviewed', 'not pinned by tofu');
    await assert.rejects(
      client.callTool({ name: 'drift.remove_customer', arguments: { id: '7' } }),
      (err: unknown) => {
        assert.ok(err instanceof ProtocolError, String(err));
        assert.equal((err.data as { airlock: string }).airlock, 'AIRLOCK_TOOL_UNREVIEWED');
        return true;
      },
    );
    // Every class stays quarantined: only the unchanged tool is listed.
    assert.deepEqual(await names(), ['drift.next_phase']);
    const admin = gateway.pinning.admin();
    assert.equal((await admin.diff('drift.search')).drift?.drift, 'compatible');
    assert.equal((await admin.diff('drift.lookup')).drift?.drift, 'cosmetic');
    assert.equal(
      (await admin.diff('drift.remove_customer')).drift,
      undefined,
      'a new tool has no drift class',
    );

    const listing = await cli(['tools', 'list', '--config', config]);
    assert.match(listing, /drift\.lookup\s+[0-9a-f]{12}\s+QUARANTINED: definition changed.*change: cosmetic/);
    assert.match(
      listing,
      /drift\.search\s+[0-9a-f]{12}\s+QUARANTINED: definition changed.*change: compatible/,
    );
    assert.match(listing, /drift\.remove_customer\s+[0-9a-f]{12}\s+new: hidden until approved/);
    const diff = await cli(['tools', 'diff', 'drift.search', '--config', config]);
    assert.match(diff, /change:\s+COMPATIBLE/);
    assert.match(diff, /compatible\s+inputSchema\.properties\.limit: property added \(optional\)/);
  });

  it('a newly required property is breaking', async () => {
    await nextPhase('phase 2');
    await eventually('search changed again', async () => {
      const d = await gateway.pinning.admin().diff('drift.search');
      return d.drift?.drift === 'breaking' ? d : undefined;
    });
    const diff = await cli(['tools', 'diff', 'drift.search', '--config', config]);
    assert.match(diff, /change:\s+BREAKING/);
    assert.match(diff, /breaking\s+inputSchema\.required: "tenant" newly required/);
    // Approving the reviewed definition releases the quarantine.
    await gateway.pinning.admin({ actor: 'erin' }).approve('drift.search');
    assert.ok((await names()).includes('drift.search'));
  });
});
