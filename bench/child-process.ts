/**
 * Child processes for the benchmark: long-running servers that print one JSON line when ready, and
 * short commands run to completion. Every child is tracked so that the run can stop them all.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The compiled `airlock` CLI. */
export const AIRLOCK_CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/**
 * Default longest wait for a child's ready line. Generous: on a shared 2-core machine under load a
 * connector's start (enrollment check, audit start-up check, upstream catalog) can take tens of seconds.
 */
export const DEFAULT_READY_TIMEOUT_MS = 120_000;

export interface RunningChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The parsed ready line (empty object when started without waiting for one). */
  readonly ready: Record<string, unknown>;
  stderr(): string;
  /** True once the process has exited. */
  exited(): boolean;
  /** Sends `signal` and waits for the exit; escalates to SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartChildOptions {
  env?: NodeJS.ProcessEnv;
  /** Node flags placed before the script (`--cpu-prof`, `--import`, ...). Only for node scripts. */
  execArgv?: string[];
  /** Open an IPC channel (for the memory probe). */
  ipc?: boolean;
  /** Wait for a JSON line on stdout (default true). */
  waitForReady?: boolean;
  readyTimeoutMs?: number;
  /** Stderr kept in memory, at most (default 64 KiB). */
  maxStderrBytes?: number;
}

const live = new Set<RunningChild>();

/** Stops every child started by this module that is still running. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop('SIGTERM', 3000).catch(() => undefined)));
}

/**
 * Starts `command args` and, by default, waits for its first stdout line, parsed as JSON.
 *
 * @example
 * const relay = await startChild(process.execPath, [AIRLOCK_CLI, 'relay', '--json', ...]);
 */
export async function startChild(
  command: string,
  args: string[],
  options: StartChildOptions = {},
): Promise<RunningChild> {
  const stdio: StdioOptions = options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn(command, [...(options.execArgv ?? []), ...args], {
    stdio,
    env: options.env ?? process.env,
  });
  const maxErr = options.maxStderrBytes ?? 64 * 1024;
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < maxErr) err += d.toString();
  });
  const exitedPromise = once(child, 'exit').then(() => undefined);
  let hasExited = false;
  void exitedPromise.then(() => {
    hasExited = true;
  });
  const running: RunningChild = {
    child,
    pid: child.pid ?? -1,
    ready: {},
    stderr: () => err,
    exited: () => hasExited || child.exitCode !== null || child.signalCode !== null,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
      live.delete(running);
      if (running.exited()) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
  live.add(running);
  if (options.waitForReady === false) {
    child.stdout?.resume();
    return running;
  }
  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  try {
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`${command} ${args.join(' ')}: not ready after ${timeoutMs} ms: ${err}`)),
        timeoutMs,
      );
      const onData = (d: Buffer): void => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        try {
          resolve(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
        } catch (cause) {
          reject(new Error(`${command}: ready line is not JSON: ${out.slice(0, nl)}`, { cause }));
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before ready: ${err}`));
      });
    });
    Object.assign(running, { ready });
    return running;
  } catch (e) {
    await running.stop('SIGKILL');
    throw e;
  }
}

/** Runs a command to completion; resolves with stdout, rejects with stderr on a non-zero exit. */
export async function runToEnd(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${err.trim()}`);
  return out;
}

/** Runs the airlock CLI to completion. */
export function runAirlock(args: string[]): Promise<string> {
  return runToEnd(process.execPath, [AIRLOCK_CLI, ...args]);
}
