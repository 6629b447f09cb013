/**
 * End to end through the relay: real SDK clients (v2 and v1) → relay (SNI routing, no decryption) →
 * tunnel (TLS, or WebSocket through a real HTTP CONNECT proxy) → connector (tenant TLS, gateway) →
 * real upstream MCP servers (the sample ERP over SQLite and server-everything), over both MCP eras.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createProxy } from 'proxy';
import { connectToTenant, createTenantFetch } from '../../src/agent/index.js';
import { type Stack, startStack } from './airlock-stack.js';

interface ToolResult {
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

function text(result: unknown): string {
  return ((result as ToolResult).content ?? []).map((c) => c.text ?? '').join('');
}

async function exerciseV2(stack: Stack, era: 'modern' | 'legacy') {
  const conn = stack.tenant('acme').connection();
  const mode = era === 'modern' ? { pin: '2026-07-28' } : ('legacy' as const);
  const client = await connectToTenant(
    conn,
    { name: 'e2e-v2', version: '1.0.0' },
    { client: { versionNegotiation: { mode } } },
  );
  try {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.ok(names.includes('erp.lookup_invoice'), `erp tools listed: ${names.join(',')}`);
    assert.ok(names.includes('everything.echo'), 'server-everything tools listed');
    const invoice = (await client.callTool({
      name: 'erp.lookup_invoice',
      arguments: { invoice_number: 'INV-2025-0001' },
    })) as ToolResult;
    assert.equal(invoice.isError ?? false, false);
    assert.equal(invoice.structuredContent?.invoiceNumber, 'INV-2025-0001');
    const echo = await client.callTool({
      name: 'everything.echo',
      arguments: { message: 'through the airlock' },
    });
    assert.equal(text(echo), 'Echo: through the airlock');
    const missing = (await client.callTool({
      name: 'erp.lookup_invoice',
      arguments: { invoice_number: 'INV-1999-9999' },
    })) as ToolResult;
    assert.equal(missing.isError, true, 'upstream tool errors pass through');
  } finally {
    await client.close();
  }
}

async function exerciseV1(stack: Stack) {
  const conn = stack.tenant('acme').connection();
  const fetch = createTenantFetch(conn);
  const client = new V1Client({ name: 'e2e-v1', version: '1.0.0' });
  const transport = new V1Transport(new URL(conn.url), {
    fetch: fetch as unknown as typeof globalThis.fetch,
  });
  await client.connect(transport);
  try {
    assert.ok(transport.sessionId, 'a 2025-11-25 session was established');
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'erp.search_customers'));
    assert.ok(tools.some((t) => t.name === 'everything.get-sum'));
    const sum = await client.callTool({ name: 'everything.get-sum', arguments: { a: 2, b: 40 } });
    assert.match(text(sum), /42/);
    const customers = (await client.callTool({
      name: 'erp.search_customers',
      arguments: { query: 'a', limit: 3 },
    })) as ToolResult;
    assert.equal(customers.isError ?? false, false);
    assert.ok(text(customers).length > 0);
  } finally {
    await client.close();
    await fetch.close();
  }
}

describe('through the relay over a TLS tunnel', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ transport: 'tls' });
  });
  after(() => stack.close());

  test('v2 client, 2026-07-28 era: lists and calls tools of both upstreams', () =>
    exerciseV2(stack, 'modern'));
  test('v2 client on the 2025-11-25 era', () => exerciseV2(stack, 'legacy'));
  test('v1 client (2025-11-25 with a session)', () => exerciseV1(stack));
});

describe('through the relay over a WebSocket tunnel via an HTTP CONNECT proxy', () => {
  let stack: Stack;
  let proxy: http.Server;
  const connects: string[] = [];
  before(async () => {
    proxy = createProxy(http.createServer());
    proxy.on('connect', (req: http.IncomingMessage) => connects.push(req.url ?? ''));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    stack = await startStack({ transport: 'websocket', proxy: proxyUrl });
  });
  after(async () => {
    await stack.close();
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  test('tunnels went through the proxy as WebSocket', () => {
    assert.ok(connects.length >= 2, `proxy saw ${connects.length} CONNECTs`);
    const tunnels = stack.relay.tunnels();
    assert.ok(tunnels.length >= 2);
    assert.ok(
      tunnels.every((t) => t.transport === 'websocket'),
      JSON.stringify(tunnels),
    );
  });
  test('v2 client lists and calls tools (both eras)', async () => {
    await exerciseV2(stack, 'modern');
    await exerciseV2(stack, 'legacy');
  });
  test('v1 client lists and calls tools', () => exerciseV1(stack));
});
