/**
 * The connector's admin port, with real processes (`airlock relay`, `airlock connector run`): /healthz,
 * /readyz (503 once the relay is gone), /metrics (tunnels, upstreams, calls and refusals by code), the
 * start-up line, `airlock status`, and a quiet shutdown.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { connectToTenant } from '../../src/agent/index.js';
import type { ReadinessReport } from '../../src/connector/health/connector-readiness.js';
import { everythingUpstream } from '../e2e/airlock-stack.js';
import { CLI, type CliStack, startCliStack } from '../e2e/cli-process.js';
import { until } from '../fixtures/wait-until.js';

let stack: CliStack;
let connector: ChildProcess;
let admin: string;
let logs = '';

/** Polls `probe` every 100 ms for up to 90 s; a probe that throws (the port not up yet) means "not yet". */
function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return until(what, () => probe().catch(() => undefined), 90_000, 100);
}

async function readyz(): Promise<{ status: number; report: ReadinessReport }> {
  const res = await fetch(`${admin}/readyz`);
  return { status: res.status, report: (await res.json()) as ReadinessReport };
}

async function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

const status = () => cli(['status', '--admin', admin.replace('http://', '')]);
const doctor = () =>
  cli(['doctor', 'connector', '--config', stack.configFile, '--admin', admin.replace('http://', '')]);

before(async () => {
  stack = await startCliStack({}, { everything: everythingUpstream() });
  // Run the connector again with info logs, to check what an operator reads.
  await stack.connector.kill('SIGTERM');
  connector = spawn(process.execPath, [CLI, 'connector', 'run', '--config', stack.configFile, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AIRLOCK_LOG_LEVEL: 'info', AIRLOCK_LOG_FORMAT: 'json' },
  });
  connector.stderr?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  let out = '';
  connector.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ready = await eventually('the ready line', async () =>
    out.includes('\n') ? (JSON.parse(out.slice(0, out.indexOf('\n'))) as { adminUrl: string }) : undefined,
  );
  admin = ready.adminUrl;
});

after(async () => {
  if (connector && connector.exitCode === null && connector.signalCode === null) {
    connector.kill('SIGKILL');
    await once(connector, 'exit');
  }
  await stack?.close();
});

test('/healthz, /readyz and airlock status while tunnels and upstream are up; one start-up line', async () => {
  assert.equal((await fetch(`${admin}/healthz`)).status, 200);
  const { report } = await eventually('ready', async () => {
    const r = await readyz();
    return r.status === 200 ? r : undefined;
  });
  assert.equal(report.ready, true);
  assert.ok(report.tunnels.up >= 1);
  assert.equal(report.upstreams[0]?.name, 'everything');
  assert.equal(report.upstreams[0]?.state, 'ready');
  assert.equal(typeof report.upstreams[0]?.sandboxed, 'boolean');
  const s = await status();
  assert.equal(s.code, 0, s.out);
  assert.match(s.out, /: ready\n/);
  assert.match(s.out, /tunnels +\d\/2 up/);
  assert.match(s.out, /everything ready \((NOT )?sandboxed/);
  const line = await eventually('the start-up line', async () =>
    logs.split('\n').find((l) => l.includes('"msg":"connector ready"')),
  );
  const fields = JSON.parse(line) as { tunnels: string; upstreams: Record<string, string> };
  assert.match(fields.tunnels, /^[12]\/2 up$/);
  assert.match(fields.upstreams.everything ?? '', /^ready, (NOT )?sandboxed$/);
  assert.equal(logs.split('"msg":"connector ready"').length, 2, 'exactly one start-up line');
  const d = await doctor();
  assert.equal(d.code, 0, d.out);
  for (const step of [
    'config',
    'enrollment',
    'connector certificate',
    'relay CA',
    'relay resolve',
    'relay connect',
    'relay tls',
    'relay clock',
    'connector process',
    'tunnels',
  ]) {
    assert.match(d.out, new RegExp(`^ok +${step} `, 'm'), d.out);
  }
  assert.match(d.out, /^(ok {2}|WARN) upstream everything +ready/m);
});

test('/metrics counts calls and refusals by code; the console behind it still needs a login', async () => {
  const client = await connectToTenant(stack.conn, { name: 'metrics-test', version: '1' });
  try {
    await client.callTool({ name: 'everything.echo', arguments: { message: 'hi' } });
    // The attacker's move: arguments the schema refuses.
    await client.callTool({ name: 'everything.echo', arguments: { message: 42 } }).catch(() => undefined);
  } finally {
    await client.close();
  }
  const text = await (await fetch(`${admin}/metrics`)).text();
  assert.match(text, /^airlock_connector_tunnels\{state="up"\} [12]$/m);
  assert.match(
    text,
    /^airlock_connector_upstream_up\{upstream="everything",kind="stdio",sandboxed="(true|false)"\} 1$/m,
  );
  assert.match(text, /^airlock_connector_requests_total\{method="tools\/call"\} [2-9]$/m);
  assert.match(
    text,
    /^airlock_connector_refusals_total\{stage="validate",code="AIRLOCK_ARGUMENTS_INVALID"\} 1$/m,
  );
  assert.match(
    text,
    /^airlock_connector_upstream_latency_seconds_count\{upstream="[^"]*",method="tools\/call"\} [1-9]$/m,
  );
  assert.match(text, /^airlock_connector_approvals_pending 0$/m);
  assert.match(text, /^airlock_connector_audit_available 1$/m);
  assert.match(text, /^process_cpu_user_seconds_total /m);
  const post = await fetch(`${admin}/readyz`, { method: 'POST' });
  assert.equal(post.status, 405);
  const page = await fetch(`${admin}/`, { redirect: 'manual' });
  assert.ok(page.status === 302 || page.status === 303, `console still asks for a login (${page.status})`);
});

test('/readyz turns 503 when the tunnels drop; airlock status says why', async () => {
  await stack.relay.kill('SIGKILL');
  const { report } = await eventually('503', async () => {
    const r = await readyz();
    return r.status === 503 ? r : undefined;
  });
  assert.equal(report.ready, false);
  assert.equal(report.tunnels.up, 0);
  assert.match(report.reasons.join(';'), /no tunnel to the relay is up \(0\/2\)/);
  assert.equal((await fetch(`${admin}/healthz`)).status, 200, 'the process is still up');
  const s = await status();
  assert.equal(s.code, 1);
  assert.match(s.out, /NOT READY — no tunnel to the relay is up/);
  const d = await doctor();
  assert.equal(d.code, 1);
  assert.match(d.out, /^FAIL relay connect .*\[AIRLOCK_AGENT_CONNECTION_REFUSED\] → /m);
  assert.match(
    d.out,
    /^FAIL tunnels +0\/2 up.*\[AIRLOCK_DOCTOR_NO_TUNNEL\] → agents get "unknown tenant or no connector online"/m,
  );
});

test('logs: no repeated keys; a clean shutdown is quiet', async () => {
  const exited = once(connector, 'exit');
  connector.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
  const lines = logs.split('\n').filter((l) => l.startsWith('{'));
  assert.ok(lines.length > 0);
  for (const line of lines) {
    for (const key of ['part', 'upstream', 'level', 'msg']) {
      const count = line.split(`"${key}":`).length - 1;
      assert.ok(count <= 1, `"${key}" appears ${count} times in ${line}`);
    }
  }
  const shutdown = logs.slice(logs.indexOf('SIGTERM received'));
  assert.doesNotMatch(shutdown, /upstream went down/);
});
