/**
 * Fail closed by default: an upstream configured without `sandbox.mode` on a host without bubblewrap
 * (simulated with `sandbox.bwrapPath` pointing at a missing binary) is refused with a clear error and
 * never started; `preferred` must be asked for explicitly.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { parseYamlConfig } from '../../src/config/load-yaml.js';
import { upstreamSchema } from '../../src/connector/config-schema.js';
import { Upstream } from '../../src/mcp/upstream.js';
import { sandboxFromYaml } from '../../src/sandbox/sandbox-config.js';
import { SandboxError } from '../../src/sandbox/sandbox-error.js';
import { prepareSandboxedCommand } from '../../src/sandbox/sandboxed-command.js';
import { HOSTILE_UPSTREAM } from './sandbox-fixture.js';

const Upstreams = z.strictObject({ upstreams: z.record(z.string(), upstreamSchema) });

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-sbx-default-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The connector's path: YAML → `sandboxFromYaml` (the block has no `mode`). */
function sandboxOf(yamlLines: string[]) {
  const parsed = parseYamlConfig(
    ['upstreams:', '  erp:', '    command: node', ...yamlLines].join('\n'),
    Upstreams,
    'connector.yaml',
  );
  return sandboxFromYaml(parsed.upstreams.erp?.sandbox, {
    resolvePath: (p) => (p.startsWith('/') ? p : join(dir, p)),
    hiddenPaths: [join(dir, 'data')],
  });
}

describe('sandbox.mode defaults to required', () => {
  it('an upstream without a sandbox block gets mode required', () => {
    assert.equal(sandboxOf([]).mode, 'required');
  });

  it('a host without bubblewrap refuses to start the upstream, naming the code, the fix and the switch', async () => {
    const missing = join(dir, 'no-such-bwrap');
    const sandbox = sandboxOf(['    sandbox:', `      bwrapPath: ${missing}`]);
    assert.equal(sandbox.mode, 'required');
    assert.equal(sandbox.bwrapPath, missing);
    const marker = join(dir, 'started-marker');
    await assert.rejects(
      prepareSandboxedCommand({
        name: 'erp',
        command: process.execPath,
        args: [HOSTILE_UPSTREAM],
        env: { HOSTILE_MARKER: marker },
        sandbox,
      }),
      (err: unknown) => {
        assert.ok(err instanceof SandboxError);
        assert.equal(err.code, 'AIRLOCK_SANDBOX_UNAVAILABLE');
        assert.match(err.message, /upstream 'erp' requires a sandbox/);
        assert.match(err.message, /not found/);
        assert.match(err.message, /apt-get install bubblewrap/);
        assert.match(err.message, /sandbox\.bwrapPath/);
        assert.match(err.message, /sandbox\.mode to "preferred" or "off"/);
        return true;
      },
    );

    // The real upstream supervisor: the server process is never spawned.
    const upstream = new Upstream(
      {
        name: 'erp',
        kind: 'stdio',
        command: process.execPath,
        args: [HOSTILE_UPSTREAM],
        env: { HOSTILE_MARKER: marker },
        sandbox,
      },
      { backoff: { initialMs: 60_000, maxMs: 60_000 } },
    );
    try {
      await upstream.start();
      const status = upstream.status();
      assert.equal(status.state, 'failed');
      assert.match(status.lastError ?? '', /AIRLOCK_SANDBOX_UNAVAILABLE|requires a sandbox/);
      assert.equal(existsSync(marker), false, 'the server never ran');
    } finally {
      await upstream.close();
    }
  });

  it('preferred must be chosen explicitly, and then says why it runs unsandboxed', async () => {
    const sandbox = sandboxOf([
      '    sandbox:',
      '      mode: preferred',
      `      bwrapPath: ${join(dir, 'no-such-bwrap')}`,
    ]);
    const spec = await prepareSandboxedCommand({
      name: 'erp',
      command: process.execPath,
      args: ['--version'],
      env: {},
      sandbox,
    });
    assert.equal(spec.sandboxed, false);
    assert.match(spec.unsandboxedReason ?? '', /no-such-bwrap not found/);
  });
});
