/**
 * Installs the packed tarball like a user would (`npm install -g` into a temporary prefix) and runs the
 * installed `airlock` from PATH: `--version`, `doctor --help` and a doctor run against a closed port.
 * Dependencies come from npm's cache when present (`--prefer-offline`); install scripts are skipped, so
 * the native SQLite build is not exercised here (the commands run do not open a store).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCertificateAuthority } from '../../src/identity/pki.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let dir: string;
let files: string[] = [];
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-install-'));
  // dist/ is built by the test run; prepack (tsc) is checked separately below.
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.ok(packed);
  files = packed.files.map((f) => f.path);
  await exec(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      join(dir, 'prefix'),
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      join(dir, packed.filename),
    ],
    { cwd: dir, maxBuffer: 16 * 1024 * 1024, timeout: 170_000 },
  );
  env = { ...process.env, PATH: `${join(dir, 'prefix', 'bin')}${delimiter}${process.env.PATH ?? ''}` };
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the tarball holds the runtime (CLI, sample server, units) and nothing else', async () => {
  for (const needed of [
    'package.json',
    'dist/src/cli/main.js',
    'dist/samples/erp/server.js',
    'deploy/systemd/airlock-relay.service',
    'deploy/systemd/airlock-connector.service',
    'README.md',
  ]) {
    assert.ok(files.includes(needed), `${needed} is packed`);
  }
  assert.equal(
    files.filter((f) => f.startsWith('dist/test/') || f.startsWith('src/') || f.endsWith('.ts')).length,
    0,
  );
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    private?: boolean;
    scripts: Record<string, string>;
    bin: Record<string, string>;
  };
  assert.equal(pkg.private, undefined, 'publishable');
  assert.match(pkg.scripts.prepack ?? '', /tsc -p \./, 'npm pack builds first');
  assert.equal(pkg.bin.airlock, 'dist/src/cli/main.js');
});

test('airlock --version from PATH prints the package version', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const { stdout } = await exec('airlock', ['--version'], { env });
  assert.equal(stdout.trim(), pkg.version);
});

test('airlock doctor runs from the installed package and names the failing step', async () => {
  const help = await exec('airlock', ['doctor', '--help'], { env });
  assert.match(help.stdout, /agent/);
  assert.match(help.stdout, /connector/);
  const ca = await createCertificateAuthority({ commonName: 'doctor test CA' });
  await writeFile(join(dir, 'ca.pem'), ca.certPem);
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const result = await exec(
    'airlock',
    [
      'doctor',
      'agent',
      '--url',
      'https://acme.airlock.test/mcp',
      '--ca',
      join(dir, 'ca.pem'),
      '--connect',
      `127.0.0.1:${port}`,
    ],
    { env },
  ).then(
    () => assert.fail('doctor must fail against a closed port'),
    (err: { code: number; stdout: string }) => err,
  );
  assert.equal(result.code, 1);
  assert.match(result.stdout, /^ok +resolve /m);
  assert.match(result.stdout, /^FAIL connect .*\[AIRLOCK_AGENT_CONNECTION_REFUSED\] → /m);
});
