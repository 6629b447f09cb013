/**
 * What the connector assembles from its config file, proved through a running relay + connector:
 * OAuth bearer agents (`agents.oauth`), policy hot reload (audited; a broken file keeps the last good
 * policy), and revocation from the CLI in another process.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { connectToTenant, createTenantFetch } from '../../src/agent/index.js';
import { storedAuditEntries } from '../../src/audit/stored-trail.js';
import { POLICY_REJECTED_CHANNEL } from '../../src/policy/policy-watcher.js';
import { until } from '../fixtures/wait-until.js';
import { makeKey, TestIdp, type TestKey } from '../identity/jwt-test-idp.js';
import { OPEN_POLICY, type Stack, startStack } from './airlock-stack.js';
import { runCli } from './cli-process.js';

const POLICY = OPEN_POLICY.replace(
  'identities:\n',
  'identities:\n  - subject: user-42\n    issuer: https://idp.acme.test\n    roles: [all]\n',
);

let idp: TestIdp;
let key: TestKey;
let stack: Stack;

before(async () => {
  key = await makeKey('ES256', 'k1');
  idp = await new TestIdp().start([key]);
  stack = await startStack({
    policy: POLICY,
    connector: { agents: { oauth: { issuer: idp.issuer, jwksUri: idp.jwksUri } } },
  });
});
after(async () => {
  await stack?.close();
  await idp?.close();
});

async function echo(client: Client, message: string): Promise<string> {
  const r = (await client.callTool({ name: 'everything.echo', arguments: { message } })) as {
    content: Array<{ text?: string }>;
  };
  return r.content[0]?.text ?? '';
}

async function bearerClient(token: string): Promise<Client> {
  const acme = stack.tenant('acme');
  const { certPem: _c, keyPem: _k, ...noCert } = acme.connection();
  const tenantFetch = createTenantFetch(noCert);
  const withToken = (url: string | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return tenantFetch(url, { ...init, headers });
  };
  const client = new Client({ name: 'bearer-agent', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(acme.url), { fetch: withToken }));
  return client;
}

test('agents.oauth: a bearer agent without a client certificate works through the relay; a wrong audience does not', async () => {
  const good = await idp.token(key, { aud: 'https://acme.localhost/mcp' });
  const client = await bearerClient(good);
  try {
    assert.equal(await echo(client, 'bearer'), 'Echo: bearer');
  } finally {
    await client.close();
  }
  const wrong = await idp.token(key, { aud: 'https://globex.localhost/mcp' });
  await assert.rejects(bearerClient(wrong), /401|AIRLOCK_TOKEN_AUDIENCE|audience/i);
});

test('policy hot reload in the running connector: applied on the next requests, audited; a broken file keeps the last good one', async () => {
  const acme = stack.tenant('acme');
  const policyFile = join(stack.dir, 'acme-policy.yaml');
  const client = await connectToTenant(acme.connection(), { name: 'reload', version: '1' });
  try {
    assert.equal(await echo(client, 'before'), 'Echo: before');
    await writeFile(policyFile, POLICY.replace('tools: ["**"]', 'tools: ["erp.*"]'));
    await until('the new policy in force', async () => {
      try {
        await echo(client, 'after');
        return false;
      } catch (err) {
        return /not allowed|FORBIDDEN/i.test(String((err as Error).message));
      }
    });
    const actions: string[] = [];
    for await (const text of storedAuditEntries(acme.connector.store.audit)) {
      const entry = JSON.parse(text) as { kind?: string; action?: string };
      if (entry.kind === 'admin' && entry.action) actions.push(entry.action);
    }
    assert.ok(actions.includes('policy.change'), `admin actions: ${actions.join(', ')}`);
    // A broken edit: refused, the last good policy (echo forbidden, erp allowed) stays in force.
    const rejected = new Promise<void>((resolve) => {
      const onRejected = () => {
        diagnosticsChannel.unsubscribe(POLICY_REJECTED_CHANNEL, onRejected);
        resolve();
      };
      diagnosticsChannel.subscribe(POLICY_REJECTED_CHANNEL, onRejected);
    });
    await writeFile(policyFile, 'version: 1\nroles: [this is not a map\n');
    await rejected; // the watcher read the broken file and kept the last good policy
    await assert.rejects(echo(client, 'still'), /not allowed|FORBIDDEN/i);
    const invoice = (await client.callTool({
      name: 'erp.lookup_invoice',
      arguments: { invoice_number: 'INV-2025-0001' },
    })) as { isError?: boolean };
    assert.notEqual(invoice.isError, true);
  } finally {
    await client.close();
    await writeFile(policyFile, POLICY);
  }
});

test('revocation from the CLI (another process) refuses the agent on its next request', async () => {
  const acme = stack.tenant('acme');
  await until('calls to work', async () => {
    const c = await connectToTenant(acme.connection(), { name: 'probe', version: '1' });
    try {
      return (await echo(c, 'ok')) === 'Echo: ok';
    } catch {
      return false;
    } finally {
      await c.close();
    }
  });
  const client = await connectToTenant(acme.connection(), { name: 'to-revoke', version: '1' });
  try {
    assert.equal(await echo(client, 'alive'), 'Echo: alive');
    await runCli(['identity', 'revoke', 'agent-1', '--config', acme.configFile]);
    await assert.rejects(echo(client, 'revoked'));
  } finally {
    await client.close().catch(() => undefined);
  }
  await assert.rejects(connectToTenant(acme.connection(), { name: 'again', version: '1' }));
  assert.match(await readFile(acme.configFile, 'utf8'), /policy:/);
});
