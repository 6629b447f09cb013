/** Runs the real `airlock` CLI as child processes for tests that kill and restart parts. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Running {
  child: ChildProcess;
  ready: Record<string, unknown>;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** How long `startCli` waits for the ready line by default. */
export const DEFAULT_CLI_READY_TIMEOUT_MS = 60_000;

/**
 * The first line `child` prints on stdout, parsed as JSON. Rejects when the child exits first, prints
 * something that is not JSON, or says nothing for `timeoutMs`; `stderr` is quoted in the error. The
 * caller owns the child: on a rejection it must still kill it (see {@link killChild}).
 */
export function readyLine(
  child: ChildProcess,
  timeoutMs: number,
  stderr: () => string,
): Promise<Record<string, unknown>> {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      fn();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`not ready after ${timeoutMs} ms: ${stderr()}`))),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const line = out.slice(0, nl);
      settle(() => {
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          reject(new Error(`the ready line is not JSON: ${line}\n${stderr()}`));
        }
      });
    };
    const onExit = (code: number | null) =>
      settle(() => reject(new Error(`exited with ${code} before ready: ${stderr()}`)));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Sends `signal` to `child` unless it has exited already, and resolves once it has. */
export async function killChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** How long `stopChild` lets a child shut down after SIGTERM before it sends SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 15_000;

/**
 * SIGTERM, then SIGKILL if `child` has not exited after `graceMs`: a clean stop that can never hang a
 * test's cleanup.
 */
export async function stopChild(child: ChildProcess, graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  child.kill('SIGTERM');
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Start a long-running command with `--json` and wait for its one ready line. When it never gets
 * ready (timeout, early exit, a line that is not JSON) the child is killed (SIGKILL) before the error
 * (with the child's `pid`) is thrown, so that no test is left waiting on a stray process.
 */
export async function startCli(args: string[], timeoutMs = DEFAULT_CLI_READY_TIMEOUT_MS): Promise<Running> {
  const child = spawn(process.execPath, [CLI, ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AIRLOCK_LOG_LEVEL: 'warn' },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let ready: Record<string, unknown>;
  try {
    ready = await readyLine(child, timeoutMs, () => err);
  } catch (error) {
    await killChild(child, 'SIGKILL');
    throw Object.assign(error as Error, { pid: child.pid });
  }
  return {
    child,
    ready,
    stderr: () => err,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => killChild(child, signal),
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion and returns its exit code and output (never rejects on exit status). */
export async function runCliResult(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Run a short command to completion; resolves with stdout, rejects with stderr on failure. */
export async function runCli(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runCliResult(args);
  if (code !== 0)
    throw Object.assign(new Error(`airlock ${args.join(' ')} exited ${code}: ${stderr}`), {
      code,
      err: stderr,
    });
  return stdout;
}

/** A relay and an enrolled connector as separate `airlock` processes, with one agent identity. */
export interface CliStack {
  dir: string;
  relay: Running;
  connector: Running;
  relayPort: number;
  configFile: string;
  /** How an agent reaches the tenant (through the relay). */
  conn: import('../../src/agent/index.js').TenantConnection;
  relayArgs(port: number): string[];
  startConnector(): Promise<Running>;
  close(): Promise<void>;
}

/** `airlock relay` arguments for a relay with its data in `dir/relay`, listening on `port`. */
function cliRelayArgs(dir: string, port: number): string[] {
  const dataDir = join(dir, 'relay');
  return [
    'relay',
    '--domain',
    'localhost',
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
  ];
}

/**
 * Adds tenant `acme` at the relay, writes the connector config (open test policy, `extraConfig`
 * merged in), enrolls it and issues `agent-1` into `dir/agent`. Returns the config file.
 */
async function enrollCliConnector(
  dir: string,
  relayPort: number,
  extraConfig: Record<string, unknown>,
  upstreams: Record<string, unknown>,
): Promise<string> {
  const { OPEN_POLICY } = await import('./airlock-stack.js');
  const added = await runCli(['tenant', 'add', 'acme', '--data-dir', join(dir, 'relay')]);
  const token = added.trim().split('\n').pop() ?? '';
  const configFile = join(dir, 'connector.yaml');
  await writeFile(join(dir, 'policy.yaml'), OPEN_POLICY);
  await writeFile(
    configFile,
    stringify({
      dataDir: join(dir, 'connector'),
      relay: {
        url: `tls://relay.localhost:${relayPort}`,
        connect: `127.0.0.1:${relayPort}`,
        caFile: join(dir, 'relay', 'identity', 'ca.pem'),
      },
      admin: { listen: '127.0.0.1:0' },
      policy: { file: join(dir, 'policy.yaml') },
      ...extraConfig,
      upstreams,
    }),
  );
  await runCli(['connector', 'enroll', '--config', configFile, '--token', token]);
  await runCli(['identity', 'issue', 'agent-1', '--config', configFile, '--out', join(dir, 'agent')]);
  return configFile;
}

/**
 * `airlock connector run`: it answers once it has started; agents can be served once /readyz says so
 * (a tunnel is up and the upstreams are ready). A connector that never gets ready is killed.
 */
async function startCliConnector(configFile: string): Promise<Running> {
  const running = await startCli(['connector', 'run', '--config', configFile]);
  try {
    await untilReady(String(running.ready.adminUrl));
  } catch (error) {
    await running.kill('SIGKILL');
    throw error;
  }
  return running;
}

/**
 * Starts `airlock relay`, adds tenant `acme`, writes a connector config (with `extraConfig` merged
 * in and the open test policy), enrolls, issues `agent-1` and starts `airlock connector run`. When a
 * step fails, the processes started so far are killed and the directory removed before it throws.
 */
export async function startCliStack(
  extraConfig: Record<string, unknown>,
  upstreams: Record<string, unknown>,
): Promise<CliStack> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-cli-stack-'));
  const started: { relay?: Running; connector?: Running } = {};
  try {
    const relay = await startCli(cliRelayArgs(dir, 0));
    started.relay = relay;
    const relayPort = relay.ready.port as number;
    const configFile = await enrollCliConnector(dir, relayPort, extraConfig, upstreams);
    const connector = await startCliConnector(configFile);
    started.connector = connector;
    const stack: CliStack = {
      dir,
      relay,
      connector,
      relayPort,
      configFile,
      conn: {
        url: `https://acme.localhost:${relayPort}/mcp`,
        caPem: await readFile(connector.ready.caFile as string, 'utf8'),
        certPem: await readFile(join(dir, 'agent', 'agent-1.cert.pem'), 'utf8'),
        keyPem: await readFile(join(dir, 'agent', 'agent-1.key.pem'), 'utf8'),
        connectTo: { host: '127.0.0.1', port: relayPort },
      },
      relayArgs: (port) => cliRelayArgs(dir, port),
      startConnector: () => startCliConnector(configFile),
      async close() {
        await stopChild(stack.connector.child);
        await stopChild(stack.relay.child);
        await rm(dir, { recursive: true, force: true });
      },
    };
    return stack;
  } catch (err) {
    await started.connector?.kill('SIGKILL');
    await started.relay?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Polls the connector's `/readyz` until it answers 200 (bounded). */
async function untilReady(adminUrl: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${adminUrl}/readyz`).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`the connector at ${adminUrl} was not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
