/**
 * Durability of the audit trail with real processes: relay and connector run as `airlock` CLI
 * children; agents stream tool calls through the relay; the connector is killed with SIGKILL in
 * the middle of the stream. After a restart, every call that got an answer has its entry (matched
 * by the SHA-256 of its unique arguments), and `airlock audit verify` passes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { connectToTenant, type TenantConnection } from '../../src/agent/index.js';
import { sha256Canonical } from '../../src/audit/canonical-json.js';
import { everythingUpstream, OPEN_POLICY } from './airlock-stack.js';
import { exportedEntries, runCliResult } from './audit-cli.js';
import { type Running, runCli, startCli } from './cli-process.js';

const WORKERS = 6;

let dir: string;
let relay: Running;
let connector: Running | undefined;
let configFile: string;
let conn: TenantConnection;

async function echoWorks(): Promise<boolean> {
  try {
    const client = await connectToTenant(conn, { name: 'probe', version: '1' });
    try {
      await client.callTool({ name: 'everything.echo', arguments: { message: 'probe' } });
      return true;
    } finally {
      await client.close();
    }
  } catch {
    return false;
  }
}

async function untilCallsWork(limitMs: number): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await echoWorks()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`calls did not work within ${limitMs} ms`);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-audit-crash-'));
  relay = await startCli([
    'relay',
    '--domain',
    'localhost',
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
    '--data-dir',
    join(dir, 'relay'),
  ]);
  const relayPort = relay.ready.port as number;
  const added = await runCli(['tenant', 'add', 'acme', '--data-dir', join(dir, 'relay')]);
  const token = added.trim().split('\n').pop() ?? '';
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
      audit: { checkpointEvery: 25, checkpointIntervalMs: 250 },
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
  await untilCallsWork(10_000);
});

after(async () => {
  await connector?.kill('SIGTERM');
  await relay?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

test('kill -9 during a stream of calls: every answered call has its entry, and the trail verifies', async (t) => {
  const answered: string[] = [];
  let failed = 0;
  let stop = false;
  const worker = async (w: number) => {
    let client: Awaited<ReturnType<typeof connectToTenant>>;
    try {
      client = await connectToTenant(conn, { name: `stream-${w}`, version: '1' });
    } catch {
      return;
    }
    try {
      for (let i = 0; !stop; i += 1) {
        const message = `crash-${w}-${i}`;
        try {
          const r = (await client.callTool({ name: 'everything.echo', arguments: { message } })) as {
            content: Array<{ text?: string }>;
          };
          if (r.content[0]?.text === `Echo: ${message}`) answered.push(message);
        } catch {
          failed += 1;
          return; // the connector is gone: this agent stops
        }
      }
    } finally {
      await client.close().catch(() => undefined);
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  // Kill while calls are in flight, once a good number were answered.
  const deadline = Date.now() + 20_000;
  while (answered.length < 150 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(answered.length >= 150, `calls were answered before the kill (${answered.length})`);
  const answeredBeforeKill = answered.length;
  await connector?.kill('SIGKILL');
  stop = true;
  await Promise.all(workers);
  t.diagnostic(
    `answered ${answered.length} calls (${answeredBeforeKill} when SIGKILL was sent), ${failed} agents saw the connector die`,
  );
  assert.ok(failed > 0, 'the kill happened while calls were in flight');

  connector = await startCli(['connector', 'run', '--config', configFile]);
  await untilCallsWork(10_000);

  const verified = await runCliResult(['audit', 'verify', '--config', configFile, '--witness']);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /^audit trail OK/);
  t.diagnostic(verified.stdout.trim());

  const exportFile = join(dir, 'trail.jsonl');
  const exported = await runCliResult(['audit', 'export', '--config', configFile, '--out', exportFile]);
  assert.equal(exported.code, 0, exported.stderr);
  const entries = await exportedEntries(exportFile);
  const recorded = new Set(
    entries.flatMap((e) =>
      e.kind === 'request' && e.tool === 'everything.echo' && e.decision === 'allow' && e.arguments
        ? [e.arguments.sha256]
        : [],
    ),
  );
  const missing = answered.filter((m) => !recorded.has(sha256Canonical({ message: m })));
  assert.deepEqual(missing, [], 'every answered call has its audit entry');
  const lifecycle = entries.flatMap((e) => (e.kind === 'admin' ? [e.action as string] : []));
  // Two starts and no stop in between: the first connector never got to record its stop.
  assert.deepEqual(
    lifecycle.filter((a) => a.startsWith('connector.')),
    ['connector.enroll', 'connector.start', 'connector.start'],
  );
});
