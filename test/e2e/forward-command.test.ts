/** `airlock forward`: a plain-HTTP MCP client on loopback reaches the tenant through the relay. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { type Stack, startStack } from './airlock-stack.js';
import { type Running, startCli } from './cli-process.js';

let stack: Stack;
let forward: Running;

before(async () => {
  stack = await startStack();
  const acme = stack.tenant('acme');
  const agents = join(stack.dir, 'acme', 'agents');
  forward = await startCli([
    'forward',
    '--url',
    acme.url,
    '--ca',
    acme.connector.pki.caFile,
    '--cert',
    join(agents, 'agent-1.cert.pem'),
    '--key',
    join(agents, 'agent-1.key.pem'),
    '--connect',
    `127.0.0.1:${stack.relay.port}`,
  ]);
});
after(async () => {
  await forward?.kill('SIGTERM');
  await stack?.close();
});

test('a client without TLS settings lists and calls tools through the forwarder', async () => {
  const url = forward.ready.url as string;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  const client = new Client({ name: 'plain', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'everything.echo'));
    const r = (await client.callTool({ name: 'everything.echo', arguments: { message: 'fwd' } })) as {
      content: Array<{ text?: string }>;
    };
    assert.equal(r.content[0]?.text, 'Echo: fwd');
  } finally {
    await client.close();
  }
});

test('the forwarder refuses a foreign Host (DNS rebinding)', async () => {
  const url = new URL(forward.ready.url as string);
  const http = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { host: 'evil.example' },
      },
      (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
  assert.equal(status, 403);
});
