/**
 * The servers `npm run conformance` runs the suite against, each directly and through Airlock
 * (./conformance.ts): the project's fixture (test/fixtures/conformance-server.ts, written for the suite)
 * and the official reference `@modelcontextprotocol/server-everything` over Streamable HTTP, started as
 * a child process on a free loopback port.
 *
 * The everything-server is not written for the suite, so some scenarios test tools it does not have.
 * Where its passing set differs between the two legs, the difference must be one named in
 * {@link EVERYTHING_DIFFERENCES}, each with the reason; any other difference fails the run.
 *
 * @example
 * const target = await startEverythingTarget();
 * const direct = await runConformance(target.url);
 * await target.close();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { startConformanceServer } from '../test/fixtures/conformance-server.js';

/** Longest wait for the everything-server to listen. */
const EVERYTHING_START_MS = 30_000;

export interface ConformanceTarget {
  /** Short name, the key in the report (`fixture`, `everything`). */
  name: string;
  description: string;
  url: string;
  /** A tool the server lists, seen through the connector before the Airlock leg runs. */
  expectTool: string;
  /** Scenarios whose result may differ between the legs, each with the reason. */
  differences: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * Where the everything-server's legs differ, and why. Neither is a protocol feature lost in Airlock:
 * - the suite's `test_simple_text` and `test_error_handling` tools do not exist on the everything-server.
 *   It answers the unknown name with an `isError` result, which the suite's lenient check takes for a
 *   pass. Airlock answers a tool no upstream lists with the protocol error the specification names for
 *   unknown tools (JSON-RPC -32602), because it cannot route the call to any upstream;
 * - `dns-rebinding-protection` passes only through Airlock: the connector checks `Host` and `Origin`, and
 *   the everything-server does not.
 */
export const EVERYTHING_DIFFERENCES: Readonly<Record<string, string>> = {
  'tools-call-simple-text':
    'the everything-server has no test_simple_text tool; it answers the unknown name with an isError result, Airlock with JSON-RPC -32602 (unknown tool)',
  'tools-call-error':
    'the everything-server has no test_error_handling tool; it answers the unknown name with an isError result, Airlock with JSON-RPC -32602 (unknown tool)',
  'dns-rebinding-protection':
    'passes only through Airlock: the connector checks Host and Origin, the everything-server does not',
};

/** The project's fixture server (in this process). */
export async function startFixtureTarget(): Promise<ConformanceTarget> {
  const fixture = await startConformanceServer();
  return {
    name: 'fixture',
    description: 'the project fixture (HTTP, loopback)',
    url: fixture.url,
    expectTool: 'test_simple_text',
    differences: {},
    close: () => fixture.close(),
  };
}

/** `@modelcontextprotocol/server-everything` over Streamable HTTP, in a child process. */
export async function startEverythingTarget(): Promise<ConformanceTarget> {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@modelcontextprotocol/server-everything/package.json');
  const { version } = require(pkg) as { version: string };
  const port = await freePort();
  const child = spawn(process.execPath, [join(dirname(pkg), 'dist', 'index.js'), 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await listening(child);
  return {
    name: 'everything',
    description: `@modelcontextprotocol/server-everything@${version} (Streamable HTTP, loopback)`,
    url: `http://127.0.0.1:${port}/mcp`,
    expectTool: 'echo',
    differences: EVERYTHING_DIFFERENCES,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resolves once the server says it listens; rejects if it exits or stays silent too long. */
function listening(child: ChildProcess): Promise<void> {
  let err = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server-everything did not listen within ${EVERYTHING_START_MS} ms: ${err}`));
    }, EVERYTHING_START_MS);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on port')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything exited ${code}: ${err}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
