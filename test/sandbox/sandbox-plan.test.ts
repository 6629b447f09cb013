/**
 * The sandbox's command line and configuration: what bubblewrap is told (namespaces, binds, masks,
 * limits, environment), which paths a command and its script need, and how the connector's YAML
 * `sandbox:` block is validated.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { parseYamlConfig } from '../../src/config/load-yaml.js';
import { upstreamSchema } from '../../src/connector/config-schema.js';
import { type BwrapPlan, bwrapArguments, prlimitArguments } from '../../src/sandbox/bwrap-arguments.js';
import {
  DEFAULT_SANDBOX_MODE,
  effectiveLimits,
  sandboxFromYaml,
  sandboxYamlSchema,
} from '../../src/sandbox/sandbox-config.js';
import { commandPaths, isInside, scriptPaths } from '../../src/sandbox/sandbox-paths.js';
import { prepareSandboxedCommand } from '../../src/sandbox/sandboxed-command.js';

const basePlan: BwrapPlan = {
  network: false,
  system: [
    { kind: 'ro-bind', path: '/usr' },
    { kind: 'symlink', path: '/lib', target: 'usr/lib' },
  ],
  binds: [
    { path: '/srv/app', writable: false },
    { path: '/srv/app/data', writable: true },
  ],
  masks: [{ path: '/srv/app/.airlock', directory: true }],
  cwd: '/srv/app',
  unsetEnv: ['USER'],
  limits: effectiveLimits({ processes: 10 }),
  prlimitPath: '/usr/bin/prlimit',
  command: '/usr/bin/node',
  args: ['server.js', '--db', 'data/x.db'],
};

function valueAfter(args: string[], flag: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === flag) out.push(args[i + 1]!);
  });
  return out;
}

describe('bwrapArguments', () => {
  it('unshares every namespace, drops capabilities, dies with the connector, no network by default', () => {
    const args = bwrapArguments(basePlan);
    for (const flag of ['--unshare-all', '--die-with-parent', '--new-session'])
      assert.ok(args.includes(flag), flag);
    assert.ok(!args.includes('--share-net'));
    assert.deepEqual(valueAfter(args, '--cap-drop'), ['ALL']);
    assert.ok(bwrapArguments({ ...basePlan, network: true }).includes('--share-net'));
  });

  it('binds parents before children, masks last, then prlimit wraps the command', () => {
    const args = bwrapArguments(basePlan);
    const ro = args.indexOf('--ro-bind', args.indexOf('--tmpfs'));
    const rw = args.indexOf('--bind');
    const mask = args.lastIndexOf('/srv/app/.airlock');
    assert.ok(ro < rw && rw < mask, 'read-only parent, writable child, then the mask');
    assert.deepEqual(valueAfter(args, '--tmpfs'), ['/tmp', '/srv/app/.airlock']);
    assert.deepEqual(valueAfter(args, '--symlink'), ['usr/lib']);
    assert.deepEqual(valueAfter(args, '--unsetenv'), ['USER']);
    const separator = args.indexOf('--');
    assert.equal(args[separator + 1], '/usr/bin/prlimit');
    assert.deepEqual(args.slice(-4), ['/usr/bin/node', 'server.js', '--db', 'data/x.db']);
  });

  it('sets hard = soft limits for address space, CPU, files and processes', () => {
    assert.deepEqual(prlimitArguments({ memoryMb: 512, cpuSeconds: 7, openFiles: 100, processes: 20 }), [
      `--as=${512 * 1024 * 1024}:${512 * 1024 * 1024}`,
      '--cpu=7:7',
      '--nofile=100:100',
      '--nproc=20:20',
    ]);
  });
});

describe('paths a command needs', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'airlock-sandbox-paths-'));
    await mkdir(join(root, 'app', 'dist', 'server'), { recursive: true });
    await mkdir(join(root, 'app', 'node_modules', 'mcp-thing', 'bin'), { recursive: true });
    await writeFile(join(root, 'app', 'package.json'), '{}');
    await writeFile(join(root, 'app', 'dist', 'server', 'main.js'), '');
    await writeFile(join(root, 'app', 'node_modules', 'mcp-thing', 'package.json'), '{}');
    await writeFile(join(root, 'app', 'node_modules', 'mcp-thing', 'bin', 'cli.js'), '');
    await mkdir(join(root, 'loose'));
    await writeFile(join(root, 'loose', 'tool.js'), '');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("a project script needs its project's manifest, node_modules and top-level folder", () => {
    const app = join(root, 'app');
    assert.deepEqual(scriptPaths(join(app, 'dist', 'server', 'main.js')), [
      join(app, 'package.json'),
      join(app, 'node_modules'),
      join(app, 'dist'),
    ]);
  });

  it('a package inside node_modules gets the whole node_modules (hoisted dependencies)', () => {
    const app = join(root, 'app');
    assert.deepEqual(scriptPaths(join(app, 'node_modules', 'mcp-thing', 'bin', 'cli.js')), [
      join(app, 'package.json'),
      join(app, 'node_modules'),
    ]);
  });

  it('a script outside any project gets its own directory only; system commands need nothing', () => {
    assert.deepEqual(scriptPaths(join(root, 'loose', 'tool.js')), [join(root, 'loose')]);
    assert.deepEqual(commandPaths('/usr/bin/env'), []);
  });

  it('isInside is about path segments, not prefixes', () => {
    assert.ok(isInside('/a/b/c', '/a/b'));
    assert.ok(isInside('/a/b', '/a/b'));
    assert.ok(!isInside('/a/bc', '/a/b'));
    assert.ok(!isInside('/a', '/a/b'));
  });
});

describe('prepareSandboxedCommand', () => {
  it('without a sandbox config or with mode off, runs the command as is', async () => {
    for (const sandbox of [undefined, { mode: 'off' as const }]) {
      const spec = await prepareSandboxedCommand({
        name: 'plain',
        command: 'node',
        args: ['x.js'],
        env: { A: '1' },
        sandbox,
      });
      assert.deepEqual(
        [spec.command, spec.args, spec.env, spec.sandboxed],
        ['node', ['x.js'], { A: '1' }, false],
      );
    }
  });

  it('sandboxed: bwrap (via setpriv when root), only allow-listed environment, config env wins', async () => {
    process.env.AIRLOCK_PLAN_ALLOWED = 'allowed-value';
    process.env.AIRLOCK_PLAN_SECRET = 'secret-value';
    try {
      const spec = await prepareSandboxedCommand({
        name: 'planned',
        command: process.execPath,
        args: ['-e', '0'],
        env: { GIVEN: 'g', PATH: '/usr/bin' },
        sandbox: { mode: 'required', env: ['AIRLOCK_PLAN_ALLOWED'] },
      });
      assert.equal(spec.sandboxed, true);
      assert.match(spec.command, process.getuid?.() === 0 ? /setpriv$/ : /bwrap$/);
      assert.deepEqual(spec.env, {
        PATH: '/usr/bin',
        HOME: '/tmp',
        AIRLOCK_PLAN_ALLOWED: 'allowed-value',
        GIVEN: 'g',
      });
      assert.ok(!spec.args.join(' ').includes('secret-value'));
      assert.ok(!spec.args.join(' ').includes('allowed-value'), 'values never appear on the command line');
    } finally {
      delete process.env.AIRLOCK_PLAN_ALLOWED;
      delete process.env.AIRLOCK_PLAN_SECRET;
    }
  });

  it('a command that does not exist is a configuration error', async () => {
    await assert.rejects(
      prepareSandboxedCommand({
        name: 'ghost',
        command: 'no-such-command-airlock',
        args: [],
        env: {},
        sandbox: { mode: 'preferred' },
      }),
      /AIRLOCK_SANDBOX_BAD_CONFIG|not found/,
    );
  });
});

describe("the connector's YAML sandbox block", () => {
  const Upstreams = z.strictObject({ upstreams: z.record(z.string(), upstreamSchema) });

  it('accepts a full block and resolves it with the data directory hidden', () => {
    const parsed = parseYamlConfig(
      [
        'upstreams:',
        '  erp:',
        '    command: node',
        '    sandbox:',
        '      mode: required',
        '      network: false',
        '      readOnlyPaths: [./ref]',
        '      readWritePaths: [/var/lib/erp]',
        '      env: [TZ]',
        '      limits: { memoryMb: 2048, cpuSeconds: 600, openFiles: 512, processes: 64 }',
        '      runAs: "1000:1000"',
      ].join('\n'),
      Upstreams,
      'connector.yaml',
    );
    const yaml = parsed.upstreams.erp?.sandbox;
    const config = sandboxFromYaml(yaml, {
      resolvePath: (p) => (p.startsWith('/') ? p : join('/etc/airlock', p)),
      hiddenPaths: ['./data'],
    });
    assert.deepEqual(config, {
      mode: 'required',
      network: false,
      readOnlyPaths: ['/etc/airlock/ref'],
      readWritePaths: ['/var/lib/erp'],
      env: ['TZ'],
      hiddenPaths: ['/etc/airlock/data'],
      limits: { memoryMb: 2048, cpuSeconds: 600, openFiles: 512, processes: 64 },
      runAs: { uid: 1000, gid: 1000 },
    });
    assert.equal(
      sandboxFromYaml(undefined, { resolvePath: (p) => p, hiddenPaths: [] }).mode,
      DEFAULT_SANDBOX_MODE,
    );
    assert.equal(DEFAULT_SANDBOX_MODE, 'required');
  });

  it('refuses unknown modes, typos, bad variable names and sandbox on an HTTP upstream', () => {
    const bad = [
      ['    command: node', '    sandbox: { mode: sometimes }'],
      ['    command: node', '    sandbox: { netwrok: true }'],
      ['    command: node', '    sandbox: { env: ["BAD-NAME"] }'],
      ['    command: node', '    sandbox: { limits: { processes: 0 } }'],
      ['    url: http://wiki.internal/mcp', '    sandbox: { mode: required }'],
    ];
    for (const lines of bad) {
      assert.throws(
        () => parseYamlConfig(['upstreams:', '  x:', ...lines].join('\n'), Upstreams, 'connector.yaml'),
        /connector\.yaml:\d+/,
        lines.join(' '),
      );
    }
    assert.equal(
      sandboxYamlSchema.safeParse({ hiddenPaths: ['/'] }).success,
      false,
      'hiddenPaths is not YAML',
    );
  });
});
