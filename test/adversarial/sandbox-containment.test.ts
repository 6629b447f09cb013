/**
 * A hostile stdio upstream inside the sandbox (real bubblewrap, real prlimit, real SDK client): it tries
 * to reach the network, read the connector's key files and environment, write outside its directory,
 * fork, allocate, open files and burn CPU without bound. Each attempt is refused or cut off, and a
 * second (bystander) upstream keeps answering throughout.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Upstream } from '../../src/mcp/upstream.js';
import type { SandboxConfig } from '../../src/sandbox/sandbox-config.js';
import { SandboxError } from '../../src/sandbox/sandbox-error.js';
import { prepareSandboxedCommand } from '../../src/sandbox/sandboxed-command.js';
import {
  CREDENTIAL_CANARY,
  callTool,
  captureLogs,
  createSandboxLayout,
  FIXTURE_UPSTREAM,
  HOSTILE_UPSTREAM,
  KEY_CANARY,
  OUTSIDE_CANARY,
  type SandboxLayout,
} from '../sandbox/sandbox-fixture.js';

const ENV_CANARY = 'connector-env-canary-3c9e';
const LIMITS = { processes: 32, openFiles: 256, memoryMb: 1536, cpuSeconds: 30 };

let layout: SandboxLayout;
let hostile: Upstream;
let bystander: Upstream;
let hostServer: net.Server;
let hostPort: number;
let hostConnections = 0;
const upstreams: Upstream[] = [];

function sandboxed(extra: Partial<SandboxConfig> = {}): SandboxConfig {
  return {
    mode: 'required',
    readWritePaths: [layout.project],
    hiddenPaths: [layout.dataDir],
    limits: LIMITS,
    ...extra,
  };
}

function start(name: string, script: string, sandbox: SandboxConfig, env: Record<string, string> = {}) {
  const upstream = new Upstream(
    { name, kind: 'stdio', command: process.execPath, args: [script], env, sandbox, protocol: 'legacy' },
    { connectTimeoutMs: 20_000, backoff: { initialMs: 60_000, maxMs: 60_000 } },
  );
  upstreams.push(upstream);
  return upstream;
}

before(async () => {
  process.env.AIRLOCK_ADV_CONNECTOR_SECRET = ENV_CANARY;
  layout = await createSandboxLayout();
  hostServer = net.createServer((socket) => {
    hostConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => hostServer.listen(0, '127.0.0.1', resolve));
  hostPort = (hostServer.address() as net.AddressInfo).port;
  hostile = start('hostile', HOSTILE_UPSTREAM, sandboxed(), { GIVEN_BY_CONFIG: 'yes' });
  bystander = start('bystander', FIXTURE_UPSTREAM, sandboxed());
  await Promise.all([hostile.start(), bystander.start()]);
  await Promise.all([hostile.whenReady(20_000), bystander.whenReady(20_000)]);
});

after(async () => {
  delete process.env.AIRLOCK_ADV_CONNECTOR_SECRET;
  await Promise.all(upstreams.map((u) => u.close()));
  await new Promise((resolve) => hostServer.close(resolve));
  await layout.close();
});

async function bystanderStillWorks(): Promise<void> {
  const result = await bystander.request('tools/call', { name: 'echo', arguments: { text: 'still here' } });
  assert.deepEqual(result.structuredContent, { echoed: 'still here' });
}

describe('a hostile upstream in the sandbox', () => {
  it('runs sandboxed: own pid namespace and hostname, not root', async () => {
    assert.equal(hostile.status().sandboxed, true);
    const me = await callTool(hostile, 'whoami');
    assert.equal(me.hostname, 'airlock-sandbox');
    assert.ok((me.processes as number) <= 4, `sees only its own processes, saw ${me.processes}`);
    assert.notEqual(me.uid, 0);
  });

  it('cannot open a network connection (loopback of the host or anywhere else)', async () => {
    const local = await callTool(hostile, 'connect', { host: '127.0.0.1', port: hostPort, timeoutMs: 2000 });
    assert.notEqual(local.outcome, 'connected');
    const remote = await callTool(hostile, 'connect', { host: '192.0.2.1', port: 443, timeoutMs: 1000 });
    assert.notEqual(remote.outcome, 'connected');
    assert.equal(remote.code, 'ENETUNREACH');
    assert.equal(hostConnections, 0, 'nothing reached the host listener');
  });

  it('network: true is the only way out (the negative above is not vacuous)', async () => {
    const open = start('networked', HOSTILE_UPSTREAM, sandboxed({ network: true }));
    await open.start();
    await open.whenReady(20_000);
    const local = await callTool(open, 'connect', { host: '127.0.0.1', port: hostPort, timeoutMs: 2000 });
    assert.equal(local.outcome, 'connected');
    assert.equal(hostConnections, 1);
    hostConnections = 0;
    await open.close();
  });

  it("cannot read the connector's key files, even below a read-write path", async () => {
    for (const path of [layout.caKey, layout.credentialKey]) {
      const read = await callTool(hostile, 'read', { path });
      assert.equal(read.outcome, 'error', `${path} must be invisible`);
      assert.equal(read.code, 'ENOENT');
    }
    const listing = await callTool(hostile, 'list', { path: layout.dataDir });
    assert.deepEqual(listing.entries ?? [], [], 'the data directory is an empty mask');
    const outside = await callTool(hostile, 'read', { path: layout.outsideSecret });
    assert.equal(outside.code, 'ENOENT');
    for (const path of ['/etc/shadow', `/proc/${process.pid}/environ`, `/proc/${process.ppid}/environ`]) {
      const read = await callTool(hostile, 'read', { path });
      assert.equal(read.outcome, 'error', `${path} must be unreadable`);
    }
    const root = await callTool(hostile, 'list', { path: '/' });
    assert.ok(!(root.entries as string[]).includes('root'), 'no /root');
    assert.ok(!(root.entries as string[]).includes('home'), 'no /home');
    const seen = JSON.stringify([listing, outside, root]);
    for (const canary of [KEY_CANARY, CREDENTIAL_CANARY, OUTSIDE_CANARY]) assert.ok(!seen.includes(canary));
  });

  it("sees only its allowed environment, never the connector's", async () => {
    const me = await callTool(hostile, 'whoami');
    const env = me.env as string[];
    assert.ok(env.includes('GIVEN_BY_CONFIG'));
    assert.ok(!env.includes('AIRLOCK_ADV_CONNECTOR_SECRET'));
    assert.ok(!String(me.envValues).includes(ENV_CANARY));
    assert.deepEqual(
      env.filter((name) => !['GIVEN_BY_CONFIG', 'PATH', 'HOME', 'PWD'].includes(name)),
      [],
      `unexpected variables: ${env.join(',')}`,
    );
  });
});

describe('a hostile upstream in the sandbox: writes and resource limits', () => {
  it('writes only where the config allows', async () => {
    const ok = await callTool(hostile, 'write', { path: join(layout.project, 'allowed.txt') });
    assert.equal(ok.outcome, 'written');
    assert.ok(existsSync(join(layout.project, 'allowed.txt')), 'the write reached the host path');
    const script = await callTool(hostile, 'write', { path: HOSTILE_UPSTREAM });
    assert.equal(script.outcome, 'error', 'its own code is read-only');
    const usr = await callTool(hostile, 'write', { path: '/usr/bin/evil' });
    assert.equal(usr.outcome, 'error');
    const mask = await callTool(hostile, 'write', { path: join(layout.dataDir, 'planted.key') });
    assert.equal(mask.outcome, 'error', 'nothing can be planted in the data directory');
    assert.ok(!existsSync(join(layout.dataDir, 'planted.key')));
  });

  it('cannot fork without bound: the process limit stops it, the bystander is unaffected', async () => {
    const bomb = await callTool(hostile, 'fork', { count: 200 });
    assert.ok((bomb.started as number) < LIMITS.processes, `started ${bomb.started}`);
    assert.ok((bomb.failed as number) > 0);
    assert.deepEqual(bomb.codes, ['EAGAIN']);
    await bystanderStillWorks();
    const me = await callTool(hostile, 'whoami');
    assert.equal(typeof me.pid, 'number', 'the hostile server itself survives its failed bomb');
  });

  it('cannot open files without bound', async () => {
    const files = await callTool(hostile, 'open_files', { count: 1000 });
    assert.ok((files.opened as number) < LIMITS.openFiles);
    assert.equal(files.code, 'EMFILE');
    await bystanderStillWorks();
  });

  it('cannot allocate memory without bound', async () => {
    const outcome = await callTool(hostile, 'allocate', { mb: 8192 }).catch((err: Error) => ({
      outcome: 'killed',
      message: err.message,
    }));
    assert.notEqual(outcome.outcome, 'allocated');
    await bystanderStillWorks();
  });

  it('cannot burn CPU without bound: the process is killed, then supervision restarts it', async () => {
    const spinner = start('spinner', HOSTILE_UPSTREAM, sandboxed({ limits: { ...LIMITS, cpuSeconds: 1 } }));
    await spinner.start();
    await spinner.whenReady(20_000);
    await assert.rejects(callTool(spinner, 'spin', { ms: 15_000 }), (err: Error) => {
      assert.match(err.message, /unavailable|exited|closed/i);
      return true;
    });
    assert.notEqual(spinner.status().state, 'ready');
    await spinner.close();
    await bystanderStillWorks();
  });
});

describe('sandbox modes', () => {
  it('required: refuses to start the server when bubblewrap is missing, with a clear error', async () => {
    const missing = '/nonexistent/bwrap';
    await assert.rejects(
      prepareSandboxedCommand({
        name: 'strict',
        command: process.execPath,
        args: [HOSTILE_UPSTREAM],
        env: {},
        sandbox: { mode: 'required', bwrapPath: missing },
      }),
      (err: unknown) => {
        assert.ok(err instanceof SandboxError);
        assert.equal(err.code, 'AIRLOCK_SANDBOX_UNAVAILABLE');
        assert.match(err.message, /upstream 'strict' requires a sandbox/);
        assert.match(err.message, /\/nonexistent\/bwrap not found/);
        return true;
      },
    );
    const strict = start(
      'strict',
      HOSTILE_UPSTREAM,
      { mode: 'required', bwrapPath: missing },
      {
        HOSTILE_MARKER: layout.marker,
      },
    );
    await strict.start();
    const status = strict.status();
    assert.equal(status.state, 'failed');
    assert.match(status.lastError ?? '', /requires a sandbox/);
    assert.ok(!existsSync(layout.marker), 'the server was never started');
    await strict.close();
  });

  it('preferred: runs without a sandbox and logs a warning when bubblewrap is missing', async () => {
    const logs = captureLogs();
    const loose = new Upstream(
      {
        name: 'loose',
        kind: 'stdio',
        command: process.execPath,
        args: [HOSTILE_UPSTREAM],
        env: { HOSTILE_MARKER: layout.marker },
        sandbox: { mode: 'preferred', bwrapPath: '/nonexistent/bwrap' },
        protocol: 'legacy',
      },
      { logger: pino({ level: 'warn' }, logs.stream), connectTimeoutMs: 20_000 },
    );
    upstreams.push(loose);
    await loose.start();
    await loose.whenReady(20_000);
    assert.equal(loose.status().sandboxed, false);
    assert.ok(existsSync(layout.marker), 'started without the sandbox');
    assert.ok(
      logs.lines.some((l) => /WITHOUT a sandbox/.test(l) && /nonexistent\/bwrap/.test(l)),
      'a warning names the reason',
    );
    await loose.close();
  });

  it('a bound path inside the data directory is a configuration error in every mode', async () => {
    for (const mode of ['required', 'preferred'] as const) {
      await assert.rejects(
        prepareSandboxedCommand({
          name: 'leaky',
          command: process.execPath,
          args: [HOSTILE_UPSTREAM],
          env: {},
          sandbox: { mode, readOnlyPaths: [join(layout.dataDir, 'tenant')], hiddenPaths: [layout.dataDir] },
        }),
        (err: unknown) => err instanceof SandboxError && err.code === 'AIRLOCK_SANDBOX_BAD_CONFIG',
      );
    }
  });
});
