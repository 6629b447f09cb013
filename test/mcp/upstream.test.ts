import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, Server, type Tool } from '@modelcontextprotocol/server';
import { WireError } from '../../src/errors/wire-error.js';
import { Upstream } from '../../src/mcp/upstream.js';
import { upstreamListSchema } from '../../src/mcp/upstream-config.js';
import { DEFAULT_RESTART_BACKOFF } from '../../src/mcp/upstream-types.js';
import { Backoff } from '../../src/supervision/backoff.js';
import type { Clock } from '../../src/supervision/clock.js';
import { captureLogger } from '../fixtures/log-capture.js';
import { until } from '../fixtures/wait-until.js';

const FIXTURE = new URL('../fixtures/fixture-mcp-server.js', import.meta.url).pathname;

class FakeClock implements Clock {
  t = 1_000_000;
  timers: { fn: () => void; at: number }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { fn, at: this.t + ms };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((t) => t.at <= this.t);
    this.timers = this.timers.filter((t) => t.at > this.t);
    for (const t of due) t.fn();
  }
}

describe('restart backoff', () => {
  it('doubles from the initial delay up to the cap, with jitter in [d/2, d]', () => {
    // The upstream's restart pacing: the supervision Backoff with equal jitter and the upstream defaults.
    const delays = (
      random: () => number,
      attempts: number,
      o: { initialMs?: number; maxMs?: number } = {},
    ) => {
      const b = new Backoff({ ...DEFAULT_RESTART_BACKOFF, ...o, random });
      return Array.from({ length: attempts }, () => b.nextDelay());
    };
    const low = () => 0;
    const high = () => 0.999999;
    assert.deepEqual(delays(low, 4), [125, 250, 500, 1000]);
    assert.equal(delays(high, 1)[0], 250);
    assert.equal(delays(high, 50).at(-1), 30_000);
    assert.equal(delays(low, 50).at(-1), 15_000);
    assert.equal(delays(high, 3, { initialMs: 10, maxMs: 25 }).at(-1), 25);
  });
});

describe('upstream configuration', () => {
  it('accepts valid stdio and http entries and rejects bad names, unknown keys and duplicates', () => {
    const ok = upstreamListSchema.safeParse([
      { name: 'erp', kind: 'stdio', command: 'node', args: ['erp.js'], env: { A: 'b' } },
      {
        name: 'wiki_2',
        kind: 'http',
        url: 'http://10.0.0.5:8080/mcp',
        headers: { 'x-key': 'k' },
        timeoutMs: 5000,
      },
    ]);
    assert.equal(ok.success, true);
    for (const bad of [
      [{ name: 'ERP', kind: 'stdio', command: 'x' }],
      [{ name: '-x', kind: 'stdio', command: 'x' }],
      [{ name: 'a.b', kind: 'stdio', command: 'x' }],
      [{ name: 'a', kind: 'stdio', command: 'x', shell: true }],
      [{ name: 'a', kind: 'http', url: 'ftp://x' }],
      [
        { name: 'a', kind: 'stdio', command: 'x' },
        { name: 'a', kind: 'http', url: 'http://x' },
      ],
    ]) {
      assert.equal(upstreamListSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
    assert.throws(() => new Upstream({ name: 'Bad Name', kind: 'stdio', command: 'x' }), /must match/);
  });
});

describe('stdio upstream supervision', () => {
  it('logs child stderr, fails in-flight and new requests at once when the child dies, restarts on the backoff clock', async () => {
    const clock = new FakeClock();
    const { logger, lines } = captureLogger();
    const upstream = new Upstream(
      { name: 'fx', kind: 'stdio', command: process.execPath, args: [FIXTURE], protocol: 'legacy' },
      { clock, logger, backoff: { random: () => 0 } },
    );
    try {
      await upstream.start();
      assert.equal(upstream.status().state, 'ready');
      assert.equal(upstream.status().era, 'legacy');
      await until('stderr line in the log', () =>
        lines.some((l) => String(l.stderr ?? '').startsWith('fixture server started')),
      );
      assert.equal(lines.find((l) => l.stderr)?.upstream, 'fx');

      const inFlight = upstream.request('tools/call', { name: 'wait', arguments: { ms: 30_000 } });
      await until('the wait call running in the child', async () => {
        const stats = await upstream.request('tools/call', { name: 'stats', arguments: {} });
        return (stats.structuredContent as { started: number }).started >= 1;
      });
      void upstream.request('tools/call', { name: 'crash', arguments: {} }).catch(() => {});
      await assert.rejects(inFlight, (err: unknown) => {
        assert.ok(err instanceof WireError);
        assert.equal(err.airlockCode, 'AIRLOCK_UPSTREAM_UNAVAILABLE');
        assert.equal(err.rpcCode, -32603);
        assert.match(err.message, /'fx'.*process exited.*restarting/);
        return true;
      });
      const down = upstream.status();
      assert.equal(down.state, 'restarting');
      assert.equal(down.restarts, 1);
      assert.equal(down.lastError, 'process exited');
      assert.equal(
        (down.nextAttemptAt ?? 0) - clock.now(),
        125,
        'first restart after initial/2 with zero jitter',
      );

      await assert.rejects(
        upstream.request('tools/list', {}),
        (err: unknown) => err instanceof WireError && err.airlockCode === 'AIRLOCK_UPSTREAM_UNAVAILABLE',
      );
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(upstream.status().state, 'restarting', 'nothing happens until the clock says so');

      clock.advance(125);
      await upstream.whenReady(10_000);
      const tools = await upstream.listAll('tools');
      assert.ok(tools.some((t) => t.name === 'echo'));
      const result = await upstream.request('tools/call', { name: 'echo', arguments: { text: 'again' } });
      assert.deepEqual(result.structuredContent, { echoed: 'again' });
    } finally {
      await upstream.close();
    }
    assert.equal(upstream.status().state, 'stopped');
  });

  it('a command that cannot start is reported as failed and retried', async () => {
    const clock = new FakeClock();
    const upstream = new Upstream(
      { name: 'missing', kind: 'stdio', command: '/nonexistent/airlock-test-binary' },
      { clock },
    );
    try {
      await upstream.start();
      const status = upstream.status();
      assert.equal(status.state, 'failed');
      assert.match(status.lastError ?? '', /failed to start/);
      assert.equal(clock.timers.length, 1, 'a retry is scheduled');
    } finally {
      await upstream.close();
    }
    assert.equal(clock.timers.length, 0, 'close() cancels the retry');
  });
});

describe('http upstream', () => {
  const TOOLS: Tool[] = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, inputSchema: { type: 'object' } }));
  const seenKeys: (string | undefined)[] = [];

  function pagedServer(): HttpServer {
    const handler = createMcpHandler(() => {
      const server = new Server(
        { name: 'paged', version: '1.0.0' },
        { capabilities: { tools: { listChanged: true } } },
      );
      server.setRequestHandler('tools/list', async (request) => {
        const start = Number(request.params?.cursor ?? 0);
        const next = start + 2 < TOOLS.length ? String(start + 2) : undefined;
        return { tools: TOOLS.slice(start, start + 2), ...(next ? { nextCursor: next } : {}) };
      });
      server.setRequestHandler('tools/call', async (request) => ({
        content: [{ type: 'text', text: `called ${request.params.name}` }],
      }));
      return server;
    });
    const node = toNodeHandler(handler);
    return createServer((req, res) => {
      seenKeys.push(req.headers['x-upstream-key'] as string | undefined);
      void node(req, res);
    });
  }

  it('follows nextCursor, sends its static headers, fails clearly when the service is gone and reconnects', async () => {
    let http = pagedServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    const upstream = new Upstream(
      {
        name: 'paged',
        kind: 'http',
        url: `http://127.0.0.1:${port}/mcp`,
        headers: { 'x-upstream-key': 'k-123' },
      },
      { backoff: { initialMs: 20, maxMs: 100 } },
    );
    try {
      await upstream.start();
      assert.equal(upstream.status().state, 'ready');
      const tools = await upstream.listAll('tools');
      assert.deepEqual(
        tools.map((t) => t.name),
        ['a', 'b', 'c', 'd', 'e'],
      );
      const result = await upstream.request('tools/call', { name: 'c', arguments: {} });
      assert.deepEqual(result.content, [{ type: 'text', text: 'called c' }]);
      assert.ok(seenKeys.length > 0 && seenKeys.every((k) => k === 'k-123'));

      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await assert.rejects(upstream.request('tools/call', { name: 'a', arguments: {} }), (err: unknown) => {
        assert.ok(err instanceof WireError);
        assert.equal(err.airlockCode, 'AIRLOCK_UPSTREAM_UNAVAILABLE');
        return true;
      });
      assert.notEqual(upstream.status().state, 'ready');

      http = pagedServer();
      await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
      await upstream.whenReady(10_000);
      const again = await upstream.request('tools/call', { name: 'e', arguments: {} });
      assert.deepEqual(again.content, [{ type: 'text', text: 'called e' }]);
    } finally {
      await upstream.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
