/**
 * Log hygiene of stdio upstreams: their stderr is logged at debug (redacted), never at info; a
 * `roots/list` an upstream asks on its own (no agent request in flight) is refused at debug; and once
 * shutdown has begun (`beginStop`, set before children may get the terminal's or systemd's signal) a
 * child that exits is not reported as "went down; restarting" nor restarted.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { UpstreamCatalog } from '../../src/mcp/upstream-catalog.js';
import { captureLogger } from '../fixtures/log-capture.js';
import { until } from '../fixtures/wait-until.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;

describe('upstream log hygiene: a lost child', () => {
  it('stderr at debug; no "went down" nor restart for a child lost after shutdown began', async () => {
    const { logger, lines } = captureLogger();
    const catalog = UpstreamCatalog.fromConfig(
      [{ name: 'fx', kind: 'stdio', command: process.execPath, args: [FIXTURE], protocol: 'legacy' }],
      { logger, upstream: { backoff: { initialMs: 10, random: () => 0 } } },
    );
    try {
      await catalog.start();
      await until('the stderr banner', () => lines.some((l) => String(l.stderr ?? '').startsWith('fixture')));
      const banner = lines.find((l) => String(l.stderr ?? '').startsWith('fixture'));
      assert.equal(banner?.level, 20); // pino debug
      const pid = Number(/pid=(\d+)/.exec(String(banner?.stderr))?.[1]);
      assert.ok(pid > 0);

      // The terminal's Ctrl-C reaches the whole process group: the connector first begins stopping...
      catalog.beginStop();
      process.kill(pid, 'SIGINT');
      await until('the child gone', () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      });
      await new Promise((r) => setImmediate(r));
      const upstream = catalog.upstreams[0];
      assert.equal(upstream?.status().restarts, 0);
      assert.ok(!lines.some((l) => l.msg === 'upstream went down; restarting'));
      assert.ok(!lines.some((l) => typeof l.level === 'number' && l.level >= 40 && l.upstream === 'fx'));
    } finally {
      await catalog.close();
    }
  });

  it('a child lost without shutdown is reported and restarted', async () => {
    const { logger, lines } = captureLogger();
    const catalog = UpstreamCatalog.fromConfig(
      [{ name: 'fx', kind: 'stdio', command: process.execPath, args: [FIXTURE], protocol: 'legacy' }],
      { logger, upstream: { backoff: { initialMs: 10, random: () => 0 } } },
    );
    try {
      await catalog.start();
      await until('the stderr banner', () => lines.some((l) => /pid=\d+/.test(String(l.stderr ?? ''))));
      const pid = Number(/pid=(\d+)/.exec(String(lines.find((l) => l.stderr)?.stderr))?.[1]);
      process.kill(pid, 'SIGINT');
      await until('the warning', () => lines.some((l) => l.msg === 'upstream went down; restarting'));
      await until('the restart', () => (catalog.upstreams[0]?.status().restarts ?? 0) >= 1);
    } finally {
      await catalog.close();
    }
  });
});

describe('upstream log hygiene: server→client requests', () => {
  it('an upstream asking roots/list on its own is refused at debug', async () => {
    const { logger, lines } = captureLogger();
    const pkg = createRequire(import.meta.url).resolve(
      '@modelcontextprotocol/server-everything/package.json',
    );
    const entry = join(dirname(pkg), 'dist', 'index.js');
    const catalog = UpstreamCatalog.fromConfig(
      [
        {
          name: 'everything',
          kind: 'stdio',
          command: process.execPath,
          args: [entry, 'stdio'],
          protocol: '2025-11-25',
        },
      ],
      { logger },
    );
    try {
      await catalog.start();
      const refused = () =>
        lines.find((l) => l.msg === 'server→client request refused' && l.method === 'roots/list');
      await until('the roots/list refusal', () => refused() !== undefined);
      assert.equal(refused()?.level, 20); // pino debug
    } finally {
      await catalog.close();
    }
  });
});
