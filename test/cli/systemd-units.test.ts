/** The shipped systemd units pass `systemd-analyze verify` and stay hardened (`systemd-analyze security`). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CLI } from '../e2e/cli-process.js';

const run = promisify(execFile);
const UNITS = fileURLToPath(new URL('../../../deploy/systemd/', import.meta.url));
const NAMES = ['airlock-relay.service', 'airlock-connector.service'];
let dir: string;

async function analyze(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await run('systemd-analyze', args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; stdout?: string };
    if (e.code === 'ENOENT') {
      assert.fail(
        'systemd-analyze is not installed: install the "systemd" package (apt-get install systemd) to check the units',
      );
    }
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-units-'));
  // ExecStart names /usr/local/bin/airlock; verify checks that it exists, so point it at this build.
  for (const name of NAMES) {
    const text = await readFile(join(UNITS, name), 'utf8');
    await writeFile(join(dir, name), text.replace('/usr/local/bin/airlock', `${process.execPath} ${CLI}`));
  }
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('both units pass systemd-analyze verify without a warning', async () => {
  const result = await analyze(['verify', ...NAMES.map((n) => join(dir, n))]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr.trim(), '', result.stderr);
});

test('a broken unit is caught (the check is real)', async () => {
  const broken = join(dir, 'airlock-broken.service');
  const text = await readFile(join(dir, NAMES[0] ?? ''), 'utf8');
  await writeFile(broken, text.replace(/^ExecStart=.*$/m, 'ExecStart=/nonexistent/airlock relay'));
  const result = await analyze(['verify', broken]);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /nonexistent/);
});

test('hardening: dynamic user, read-only system, no new privileges, minimal capabilities, exposure ≤ 3.0', async () => {
  for (const name of NAMES) {
    const text = await readFile(join(UNITS, name), 'utf8');
    for (const line of [
      'DynamicUser=yes',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'KillMode=mixed',
    ]) {
      assert.match(text, new RegExp(`^${line}$`, 'm'), `${name}: ${line}`);
    }
    assert.match(text, /^StateDirectory=airlock-(relay|connector)$/m, name);
    const caps = /^CapabilityBoundingSet=(.*)$/m.exec(text)?.[1] ?? 'missing';
    assert.ok(caps === '' || caps === 'CAP_NET_BIND_SERVICE', `${name}: CapabilityBoundingSet=${caps}`);
    const security = await analyze(['security', '--offline=true', '--threshold=30', join(dir, name)]);
    assert.equal(
      security.code,
      0,
      `${name} exposure above 3.0 (systemd's threshold scale is 0–100):\n${security.stdout.split('\n').slice(-3).join('\n')}`,
    );
  }
});
