import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client, type ClientOptions, type Progress } from '@modelcontextprotocol/client';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { type BridgeHandle, runBridge, type TenantConnection } from '../../src/agent/index.js';
import { until } from '../fixtures/wait-until.js';
import {
  createTenantPki,
  startTlsMcpServer,
  type TenantPki,
  type TlsMcpServer,
  tenantConnectionTo,
} from './tls-mcp-server.js';

interface Wired {
  bridge: BridgeHandle;
  client: Client;
  /** Ends the desktop side's stdin of the bridge, as a desktop client does on exit. */
  hangUp(): Promise<void>;
}

/**
 * Runs the bridge on in-process pipes and connects a real SDK client to its stdio side. The client
 * uses the SDK's stdio framing transport on the other ends of the same pipes.
 */
async function wire(conn: TenantConnection, clientOptions: ClientOptions = {}): Promise<Wired> {
  const toBridge = new PassThrough();
  const fromBridge = new PassThrough();
  const bridge = await runBridge(conn, { stdin: toBridge, stdout: fromBridge });
  const client = new Client({ name: 'desktop-app', version: '1.0.0' }, clientOptions);
  await client.connect(new StdioServerTransport(fromBridge, toBridge));
  return {
    bridge,
    client,
    hangUp: async () => {
      await client.close();
      toBridge.end();
      await bridge.closed;
    },
  };
}

interface Tenant {
  pki: TenantPki;
  server: TlsMcpServer;
  conn: TenantConnection;
}

/** Starts the acme test tenant before the enclosing describe's tests and closes it after them. */
function useTenant(): Tenant {
  const tenant = {} as Tenant;
  before(async () => {
    tenant.pki = await createTenantPki('acme');
    tenant.server = await startTlsMcpServer(tenant.pki);
    tenant.conn = tenantConnectionTo(tenant.pki, tenant.server);
  });
  after(async () => {
    await tenant.server?.close();
  });
  return tenant;
}

describe('agent: stdio bridge to a tenant', () => {
  const tenant = useTenant();

  test('lists and calls tools end to end, with the tenant identity and capabilities', async () => {
    const { client, bridge, hangUp } = await wire(tenant.conn);
    try {
      assert.equal(bridge.upstream.getProtocolEra(), 'modern');
      assert.equal(client.getServerVersion()?.name, 'acme-test');
      assert.equal(client.getInstructions(), 'Test tenant');
      const caps = client.getServerCapabilities();
      assert.ok(caps?.tools && caps.resources && caps.prompts && caps.completions);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [
        'count_with_progress',
        'echo',
        'fail',
        'wait_for_cancel',
        'whoami',
      ]);
      const echo = tools.find((t) => t.name === 'echo');
      assert.equal(echo?.annotations?.readOnlyHint, true);
      assert.equal(echo?.outputSchema?.type, 'object');
      const result = await client.callTool({ name: 'echo', arguments: { text: 'through the bridge' } });
      assert.deepEqual(result.structuredContent, { echoed: 'through the bridge' });
      const who = await client.callTool({ name: 'whoami', arguments: {} });
      assert.deepEqual(who.content, [{ type: 'text', text: 'claims-bot' }]);
      const failed = await client.callTool({ name: 'fail', arguments: {} });
      assert.equal(failed.isError, true);
      await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), /no_such_tool/);
    } finally {
      await hangUp();
    }
  });

  test('serves a desktop client that negotiates the 2026 era', async () => {
    const { client, hangUp } = await wire(tenant.conn, { versionNegotiation: { mode: 'auto' } });
    try {
      assert.equal(client.getProtocolEra(), 'modern');
      const result = await client.callTool({ name: 'echo', arguments: { text: 'modern desktop' } });
      assert.deepEqual(result.structuredContent, { echoed: 'modern desktop' });
    } finally {
      await hangUp();
    }
  });

  test('shuts down when stdin ends and refuses to start against an untrusted tenant', async () => {
    const { bridge, hangUp } = await wire(tenant.conn);
    await hangUp();
    await bridge.closed;
    await bridge.close();
    const other = await createTenantPki('acme');
    await assert.rejects(
      runBridge(
        { ...tenant.conn, caPem: other.ca.certPem },
        { stdin: new PassThrough(), stdout: new PassThrough() },
      ),
    );
  });
});

describe('agent: stdio bridge to a tenant: forwarding', () => {
  const tenant = useTenant();

  test('forwards resources, templates, prompts and completions', async () => {
    const { client, hangUp } = await wire(tenant.conn);
    try {
      const { resources } = await client.listResources();
      assert.deepEqual(
        resources.map((r) => r.uri),
        ['test://hello'],
      );
      const hello = await client.readResource({ uri: 'test://hello' });
      assert.deepEqual(hello.contents, [
        { uri: 'test://hello', mimeType: 'text/plain', text: 'hello from acme' },
      ]);
      const { resourceTemplates } = await client.listResourceTemplates();
      assert.deepEqual(
        resourceTemplates.map((t) => t.uriTemplate),
        ['test://items/{id}'],
      );
      const item = await client.readResource({ uri: 'test://items/42' });
      const first = item.contents[0];
      assert.ok(first && 'text' in first);
      assert.deepEqual(JSON.parse(first.text), { id: '42' });
      const { prompts } = await client.listPrompts();
      assert.deepEqual(
        prompts.map((p) => p.name),
        ['greet'],
      );
      const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
      assert.deepEqual(prompt.messages[0]?.content, { type: 'text', text: 'Say hello to Ada' });
      const promptCompletion = await client.complete({
        ref: { type: 'ref/prompt', name: 'greet' },
        argument: { name: 'name', value: 'Al' },
      });
      assert.deepEqual(promptCompletion.completion.values, ['Alan']);
      const templateCompletion = await client.complete({
        ref: { type: 'ref/resource', uri: 'test://items/{id}' },
        argument: { name: 'id', value: '4' },
      });
      assert.deepEqual(templateCompletion.completion.values, ['42']);
    } finally {
      await hangUp();
    }
  });
});

describe('agent: stdio bridge to a tenant: notifications', () => {
  const tenant = useTenant();

  test('forwards progress notifications and cancellation', async () => {
    const { client, hangUp } = await wire(tenant.conn);
    try {
      const progress: Progress[] = [];
      const counted = await client.callTool(
        { name: 'count_with_progress', arguments: {} },
        { onprogress: (p) => progress.push(p) },
      );
      assert.deepEqual(counted.content, [{ type: 'text', text: 'counted' }]);
      assert.deepEqual(
        progress.map((p) => [p.progress, p.total, p.message]),
        [
          [1, 3, 'step 1'],
          [2, 3, 'step 2'],
          [3, 3, 'step 3'],
        ],
      );

      const abort = new AbortController();
      const call = client.callTool(
        { name: 'wait_for_cancel', arguments: { tag: 'bridge-cancel' } },
        { signal: abort.signal },
      );
      await until('the tenant-side handler waiting', () => tenant.server.waiting.includes('bridge-cancel'));
      abort.abort();
      await assert.rejects(call);
      await until('the cancellation at the tenant', () => tenant.server.cancelled.includes('bridge-cancel'));
      assert.ok(
        tenant.server.cancelled.includes('bridge-cancel'),
        'the tenant-side handler saw the cancellation',
      );
    } finally {
      await hangUp();
    }
  });

  test('forwards the tenant list_changed notifications', async () => {
    let changed = 0;
    const { client, hangUp } = await wire(tenant.conn);
    try {
      client.setNotificationHandler('notifications/tools/list_changed', () => {
        changed++;
      });
      // The bridge's tenant subscription is open once connect returned; publish a change there.
      tenant.server.handler.notify.toolsChanged();
      await until('the list_changed notification', () => changed > 0);
      assert.equal(changed, 1);
    } finally {
      await hangUp();
    }
  });
});
