/**
 * Durability of the audit trail with real processes: relay and connector run as `airlock` CLI
 * children; agents stream tool calls through the relay; the connector is killed with SIGKILL in
 * the middle of the stream. After a restart, every call that got an answer has its entry (matched
 * by the SHA-256 of its unique arguments), and `airlock audit verify` passes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectToTenant, type TenantConnection } from '../../src/agent/index.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { until } from '../fixtures/wait-until.js';
import { everythingUpstream } from './airlock-stack.js';
import { exportedEntries, runCliResult } from './audit-cli.js';
import { type CliStack, startCliStack } from './cli-process.js';

const WORKERS = 6;

let stack: CliStack;
let dir: string;
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

/** Until an echo call through the relay works (generous deadline: a busy machine starts slowly). */
async function untilCallsWork(): Promise<void> {
  await until('calls through the relay to work', echoWorks);
}

before(async () => {
  stack = await startCliStack(
    { audit: { checkpointEvery: 25, checkpointIntervalMs: 250 } },
    { everything: everythingUpstream() },
  );
  ({ dir, configFile, conn } = stack);
  await untilCallsWork();
});

after(() => stack?.close());

/** Enough answered calls that the trail has real content when the connector dies. */
const KILL_AFTER_ANSWERS = 60;
/** How long the calls before the kill may take (only stops a hung test). */
const ANSWERS_TIMEOUT_MS = 120_000;

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
  // Kill while calls are in flight, once a good number were answered (a busy machine answers slowly:
  // the deadline only stops a hung test).
  await until(
    `${KILL_AFTER_ANSWERS} answered calls`,
    () => answered.length >= KILL_AFTER_ANSWERS,
    ANSWERS_TIMEOUT_MS,
  ).catch(() => undefined); // the assertion below names what is missing
  assert.ok(
    answered.length >= KILL_AFTER_ANSWERS,
    `calls were answered before the kill (${answered.length})`,
  );
  const answeredBeforeKill = answered.length;
  await stack.connector.kill('SIGKILL');
  stop = true;
  await Promise.all(workers);
  t.diagnostic(
    `answered ${answered.length} calls (${answeredBeforeKill} when SIGKILL was sent), ${failed} agents saw the connector die`,
  );
  assert.ok(failed > 0, 'the kill happened while calls were in flight');

  stack.connector = await stack.startConnector();
  await untilCallsWork();

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
