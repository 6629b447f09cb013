/**
 * `airlock demo --json`: exactly one JSON line on stdout with what an agent needs, a working tenant
 * URL through the relay, and a clean shutdown on SIGTERM. State is reused on a second start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectToTenant } from '../../src/agent/index.js';
import { CLI, killChild, readyLine } from './cli-process.js';

let dir: string;
let firstCa = '';
let firstCert = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-demo-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The demo process: its ready line, its stdout so far, a SIGTERM stop (exit code) and a kill. */
interface Demo {
  info: Record<string, unknown>;
  stdout: () => string;
  stop: () => Promise<number>;
  /** SIGKILL unless it has exited already (cleanup after a failed assertion). */
  kill: () => Promise<void>;
}

async function runDemo(): Promise<Demo> {
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
  const info = await readyLine(child, 30_000, () => err).catch(async (error: unknown) => {
    await killChild(child, 'SIGKILL');
    throw error;
  });
  return {
    info,
    stdout: () => out,
    stop: async () => {
      await killChild(child, 'SIGTERM');
      const [code, signal] = [child.exitCode, child.signalCode];
      if (code !== 0) process.stderr.write(`demo exit code=${code} signal=${signal}\n${err}\n`);
      return code ?? -1;
    },
    kill: () => killChild(child, 'SIGKILL'),
  };
}

test('demo --json prints one line of JSON, serves the tenant URL, and stops cleanly on SIGTERM', async () => {
  const demo = await runDemo();
  try {
    await checkFirstDemo(demo);
  } finally {
    await demo.kill();
  }
});

/** The first start: its ready line, the tenant through the relay, console health, a clean stop. */
async function checkFirstDemo(demo: Demo): Promise<void> {
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
}

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
