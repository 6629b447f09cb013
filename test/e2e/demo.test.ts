/**
 * `airlock demo --json`: exactly one JSON line on stdout with what an agent needs, a working tenant
 * URL through the relay, and a clean shutdown on SIGTERM. State is reused on a second start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectToTenant } from '../../src/agent/index.js';
import { CLI } from './cli-process.js';

let dir: string;
let firstCa = '';
let firstCert = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-demo-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function runDemo(): Promise<{
  info: Record<string, unknown>;
  stdout: () => string;
  stop: () => Promise<number>;
}> {
  const child = spawn(process.execPath, [CLI, 'demo', '--json', '--port', '0', '--data-dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo not ready: ${err}`)), 30_000);
    const check = () => {
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`demo exited ${code}: ${err}`)));
  });
  return {
    info,
    stdout: () => out,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = (await exited) as [number | null, string | null];
      if (code !== 0) process.stderr.write(`demo exit code=${code} signal=${signal}\n${err}\n`);
      return code ?? -1;
    },
  };
}

test('demo --json prints one line of JSON, serves the tenant URL, and stops cleanly on SIGTERM', async () => {
  const demo = await runDemo();
  const { info } = demo;
  for (const key of [
    'mcpUrl',
    'relay',
    'caFile',
    'clientCertFile',
    'clientKeyFile',
    'consoleUrl',
    'dataDir',
  ]) {
    assert.ok(key in info, `missing ${key}`);
  }
  const relay = info.relay as { host: string; port: number };
  firstCa = await readFile(info.caFile as string, 'utf8');
  firstCert = await readFile(info.clientCertFile as string, 'utf8');
  assert.equal(typeof relay.port, 'number');
  assert.match(info.mcpUrl as string, /^https:\/\/acme\.localhost:\d+\/mcp$/);
  const client = await connectToTenant(
    {
      url: info.mcpUrl as string,
      caPem: await readFile(info.caFile as string, 'utf8'),
      certPem: await readFile(info.clientCertFile as string, 'utf8'),
      keyPem: await readFile(info.clientKeyFile as string, 'utf8'),
      connectTo: relay,
    },
    { name: 'demo-test', version: '1' },
  );
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'erp.lookup_invoice'));
    assert.ok(tools.some((t) => t.name === 'everything.echo'));
  } finally {
    await client.close();
  }
  const status = (await (await fetch(`${info.consoleUrl as string}/healthz`)).json()) as { ok: boolean };
  assert.equal(status.ok, true);
  assert.equal(await demo.stop(), 0, 'clean exit on SIGTERM');
  assert.equal(demo.stdout().trim().split('\n').length, 1, 'exactly one line on stdout');
});

test('a second start reuses the state: same tenant CA and agent identity', async () => {
  const demo = await runDemo();
  try {
    assert.equal(demo.info.dataDir, dir);
    assert.match(firstCa, /BEGIN CERTIFICATE/);
    assert.equal(await readFile(demo.info.caFile as string, 'utf8'), firstCa, 'tenant CA reused');
    assert.equal(
      await readFile(demo.info.clientCertFile as string, 'utf8'),
      firstCert,
      'agent identity reused',
    );
  } finally {
    assert.equal(await demo.stop(), 0);
  }
});
