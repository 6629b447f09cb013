/**
 * A hostile stdio MCP server for the sandbox tests: each tool tries something an upstream must not be
 * able to do and reports what happened, as JSON text. Run as `node dist/test/adversarial/hostile-upstream.js`.
 *
 * Tools: `whoami` (pid, uid, hostname, cwd, environment names, visible processes), `connect` (TCP to a
 * host:port), `read` / `write` / `list` (file system), `fork` (start N `sleep` children), `allocate`
 * (grab memory in 64 MiB chunks), `spin` (burn CPU), `open_files` (open /dev/null N times), `echo`.
 *
 * Every loop is bounded by its argument; every child it starts is killed before the tool answers.
 * With `HOSTILE_MARKER` set, the server writes that file at start (proves whether it was started at all).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';

const marker = process.env.HOSTILE_MARKER;
if (marker) {
  try {
    writeFileSync(marker, `started pid=${process.pid}\n`);
  } catch {
    // inside the sandbox the marker's directory is not visible: nothing to prove there
  }
}

type Json = Record<string, unknown>;
const answer = (value: Json) => ({
  content: [{ type: 'text' as const, text: JSON.stringify(value) }],
  structuredContent: value,
});
const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

function visibleProcesses(): number {
  try {
    return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
  } catch {
    return -1;
  }
}

/** TCP to `host:port`: connected, refused (with its code) or timed out. */
function tryConnect(host: string, port: number, timeoutMs: number): Promise<Json> {
  return new Promise<Json>((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ outcome: 'timeout' });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome: 'connected' });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve({ outcome: 'error', code: errorCode(err) });
    });
  });
}

/** Starts one `sleep` child, or answers why it could not. */
function spawnSleeper(): Promise<ChildProcess | string> {
  return new Promise<ChildProcess | string>((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn('sleep', ['30'], { stdio: 'ignore' });
    } catch (err) {
      resolve(errorCode(err));
      return;
    }
    child.once('spawn', () => resolve(child));
    child.once('error', (err) => resolve(errorCode(err)));
  });
}

/** Starts `count` children one after the other, then kills every one that started. */
async function forkChildren(count: number): Promise<Json> {
  const children: ChildProcess[] = [];
  const failures: string[] = [];
  for (let i = 0; i < count; i++) {
    const outcome = await spawnSleeper();
    if (typeof outcome === 'string') failures.push(outcome);
    else children.push(outcome);
  }
  const started = children.length;
  for (const child of children) child.kill('SIGKILL');
  return { started, failed: failures.length, codes: [...new Set(failures)] };
}

/** Grabs `mb` MiB in 64 MiB chunks and lets them go again. */
function allocate(mb: number): Json {
  const chunks: Buffer[] = [];
  let allocated = 0;
  try {
    while (allocated < mb) {
      chunks.push(Buffer.alloc(64 * 1024 * 1024, 1));
      allocated += 64;
    }
    return { outcome: 'allocated', mb: allocated };
  } catch (err) {
    return { outcome: 'error', mb: allocated, message: (err as Error).message };
  } finally {
    chunks.length = 0;
  }
}

/** Opens /dev/null up to `count` times, then closes every descriptor it got. */
function openFiles(count: number): Json {
  const fds: number[] = [];
  let code: string | undefined;
  for (let i = 0; i < count; i++) {
    try {
      fds.push(openSync('/dev/null', 'r'));
    } catch (err) {
      code = errorCode(err);
      break;
    }
  }
  const opened = fds.length;
  for (const fd of fds) closeSync(fd);
  return { opened, code };
}

/** Runs a file-system move, answering its outcome or the error code. */
function fsMove(move: () => Json): Json {
  try {
    return move();
  } catch (err) {
    return { outcome: 'error', code: errorCode(err) };
  }
}

/** `echo`, `whoami` and `connect`: who the upstream is and what it can reach. */
function registerIdentityTools(server: McpServer): void {
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) =>
    answer({ echoed: text }),
  );
  server.registerTool('whoami', {}, async () =>
    answer({
      pid: process.pid,
      uid: process.getuid?.() ?? -1,
      hostname: hostname(),
      cwd: process.cwd(),
      env: Object.keys(process.env).sort(),
      envValues: Object.values(process.env).join('\n'),
      processes: visibleProcesses(),
    }),
  );
  server.registerTool(
    'connect',
    { inputSchema: z.object({ host: z.string(), port: z.number().int(), timeoutMs: z.number().int() }) },
    async ({ host, port, timeoutMs }) => answer(await tryConnect(host, port, timeoutMs)),
  );
}

/** `read`, `write` and `list`: the file system. */
function registerFileTools(server: McpServer): void {
  const path = { inputSchema: z.object({ path: z.string() }) };
  server.registerTool('read', path, async ({ path }) =>
    answer(
      fsMove(() => {
        const text = readFileSync(path, 'utf8');
        return { outcome: 'read', bytes: text.length, text: text.slice(0, 400) };
      }),
    ),
  );
  server.registerTool('write', path, async ({ path }) =>
    answer(
      fsMove(() => {
        writeFileSync(path, 'written by the hostile upstream\n');
        return { outcome: 'written' };
      }),
    ),
  );
  server.registerTool('list', path, async ({ path }) =>
    answer(fsMove(() => ({ outcome: 'listed', entries: readdirSync(path).sort() }))),
  );
}

/** `fork`, `allocate`, `spin` and `open_files`: the resource limits. */
function registerResourceTools(server: McpServer): void {
  server.registerTool(
    'fork',
    { inputSchema: z.object({ count: z.number().int().min(1).max(500) }) },
    async ({ count }) => answer(await forkChildren(count)),
  );
  server.registerTool(
    'allocate',
    { inputSchema: z.object({ mb: z.number().int().min(1).max(65_536) }) },
    async ({ mb }) => answer(allocate(mb)),
  );
  server.registerTool(
    'spin',
    { inputSchema: z.object({ ms: z.number().int().min(1).max(60_000) }) },
    async ({ ms }) => {
      const end = Date.now() + ms;
      let x = 0;
      while (Date.now() < end) x = (x + 1) % 1_000_003;
      return answer({ outcome: 'spun', x });
    },
  );
  server.registerTool(
    'open_files',
    { inputSchema: z.object({ count: z.number().int().min(1).max(100_000) }) },
    async ({ count }) => answer(openFiles(count)),
  );
}

serveStdio(() => {
  const server = new McpServer({ name: 'hostile', version: '1.0.0' }, { capabilities: { tools: {} } });
  registerIdentityTools(server);
  registerFileTools(server);
  registerResourceTools(server);
  return server;
});
