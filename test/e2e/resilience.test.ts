/**
 * Resilience with real processes: `kill -9` the relay and start it again, then `kill -9` the
 * connector and start it again. Each time a call in flight gets a clear error, and the tunnel is
 * back (calls work) within 5 s of the restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { connectToTenant, type TenantConnection } from '../../src/agent/index.js';
import { everythingUpstream, OPEN_POLICY } from './airlock-stack.js';
import { type Running, runCli, startCli } from './cli-process.js';

let dir: string;
let relay: Running;
let connector: Running;
let relayPort: number;
let configFile: string;
let conn: TenantConnection;

function relayArgs(port: number): string[] {
  return [
    'relay',
    '--domain',
    'localhost',
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    '127.0.0.1:0',
    '--data-dir',
    join(dir, 'relay'),
  ];
}

async function callWorks(): Promise<boolean> {
  try {
    const client = await connectToTenant(conn, { name: 'probe', version: '1' });
    try {
      const r = (await client.callTool({ name: 'everything.echo', arguments: { message: 'ping' } })) as {
        content: Array<{ text?: string }>;
      };
      return r.content[0]?.text === 'Echo: ping';
    } finally {
      await client.close();
    }
  } catch {
    return false;
  }
}

/** Milliseconds until a call works again, polling every 100 ms; fails after `limitMs`. */
async function timeUntilCallsWork(limitMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await callWorks()) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`calls did not work again within ${limitMs} ms`);
}

/** Starts a slow tool call and returns its settled outcome. */
function slowCall(): Promise<{ ok: boolean; error?: Error }> {
  return (async () => {
    const client = await connectToTenant(conn, { name: 'in-flight', version: '1' });
    try {
      await client.callTool(
        { name: 'everything.trigger-long-running-operation', arguments: { duration: 20, steps: 20 } },
        { timeout: 60_000 },
      );
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as Error };
    } finally {
      await client.close().catch(() => undefined);
    }
  })();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-resilience-'));
  relay = await startCli(relayArgs(0));
  relayPort = relay.ready.port as number;
  const added = await runCli(['tenant', 'add', 'acme', '--data-dir', join(dir, 'relay')]);
  const token = added.trim().split('\n').pop() ?? '';
  assert.match(token, /^alk_/);
  configFile = join(dir, 'connector.yaml');
  await writeFile(
    configFile,
    stringify({
      dataDir: join(dir, 'connector'),
      relay: {
        url: `tls://relay.localhost:${relayPort}`,
        connect: `127.0.0.1:${relayPort}`,
        caFile: join(dir, 'relay', 'identity', 'ca.pem'),
      },
      admin: { listen: '127.0.0.1:0' },
      policy: { file: join(dir, 'policy.yaml') },
      upstreams: { everything: everythingUpstream() },
    }),
  );
  await writeFile(join(dir, 'policy.yaml'), OPEN_POLICY);
  await runCli(['connector', 'enroll', '--config', configFile, '--token', token]);
  await runCli(['identity', 'issue', 'agent-1', '--config', configFile, '--out', join(dir, 'agent')]);
  connector = await startCli(['connector', 'run', '--config', configFile]);
  conn = {
    url: `https://acme.localhost:${relayPort}/mcp`,
    caPem: await readFile(connector.ready.caFile as string, 'utf8'),
    certPem: await readFile(join(dir, 'agent', 'agent-1.cert.pem'), 'utf8'),
    keyPem: await readFile(join(dir, 'agent', 'agent-1.key.pem'), 'utf8'),
    connectTo: { host: '127.0.0.1', port: relayPort },
  };
  await timeUntilCallsWork(10_000);
});

after(async () => {
  await connector?.kill('SIGTERM');
  await relay?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

test('kill -9 the relay: the in-flight call fails clearly, and calls work again within 5 s of its restart', async (t) => {
  const inFlight = slowCall();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const killedAt = Date.now();
  await relay.kill('SIGKILL');
  const outcome = await inFlight;
  assert.equal(outcome.ok, false, 'the in-flight call must not silently succeed');
  assert.ok(outcome.error?.message, 'and it carries an error message');
  t.diagnostic(`in-flight call failed ${Date.now() - killedAt} ms after the kill: ${outcome.error?.message}`);
  relay = await startCli(relayArgs(relayPort));
  // The relay process is listening again (its ready line is printed after listen()).
  const ms = await timeUntilCallsWork(5_000);
  t.diagnostic(`calls work again ${ms} ms after the new relay listens`);
  assert.ok(ms < 5_000);
});

test('kill -9 the connector: the in-flight call fails clearly, and calls work again within 5 s of its restart', async (t) => {
  const inFlight = slowCall();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const killedAt = Date.now();
  await connector.kill('SIGKILL');
  const outcome = await inFlight;
  assert.equal(outcome.ok, false);
  assert.ok(outcome.error?.message, 'and it carries an error message');
  t.diagnostic(`in-flight call failed ${Date.now() - killedAt} ms after the kill: ${outcome.error?.message}`);
  connector = await startCli(['connector', 'run', '--config', configFile]);
  // The new connector process has loaded its config and started its upstreams and tunnels.
  const ms = await timeUntilCallsWork(5_000);
  t.diagnostic(`calls work again ${ms} ms after the new connector is up`);
  assert.ok(ms < 5_000);
});
