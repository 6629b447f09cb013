/**
 * The MCP-aware baseline: `supergateway` (npm) exposing the stdio build of the benchmark's upstream
 * over Streamable HTTP, in its stateful mode (one stdio child per MCP session).
 *
 * Its stateless mode, and its 2026-07-28 leg in either mode, start one stdio child per request; the
 * benchmark therefore drives it with 2025-11-25 sessions (one `initialize`, then every call on the
 * session), which is its fast path.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningChild, startChild } from './child-process.js';
import { McpHttpTarget } from './mcp-http-target.js';
import { freePort } from './ssh-tunnel.js';

const UPSTREAM = fileURLToPath(new URL('./upstream-server.js', import.meta.url));

export interface McpProxy {
  port: number;
  name: string;
  version: string;
  running: RunningChild;
  close(): Promise<void>;
}

/** Starts supergateway on a free loopback port and waits until it answers `initialize`. */
export async function startMcpProxy(): Promise<McpProxy> {
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve('supergateway/package.json');
  const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as { version: string; bin: Record<string, string> };
  const bin = join(dirname(pkgFile), pkg.bin.supergateway ?? 'dist/index.js');
  const port = await freePort();
  const running = await startChild(
    process.execPath,
    [
      bin,
      '--stdio',
      `${JSON.stringify(process.execPath)} ${JSON.stringify(UPSTREAM)} stdio`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(port),
      '--logLevel',
      'none',
    ],
    { waitForReady: false },
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    const probe = new McpHttpTarget(
      { url: `http://127.0.0.1:${port}/mcp`, era: 'legacy', toolPrefix: '' },
      1,
    );
    try {
      await probe.init();
      await probe.callTool('echo', { text: 'ready?' });
      break;
    } catch (err) {
      if (running.exited() || Date.now() > deadline) {
        await running.stop('SIGKILL');
        throw new Error(`supergateway did not come up: ${(err as Error).message}: ${running.stderr()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await probe.close();
    }
  }
  return {
    port,
    name: 'supergateway',
    version: pkg.version,
    running,
    close: () => running.stop('SIGTERM', 3000),
  };
}
