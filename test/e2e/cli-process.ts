/** Runs the real `airlock` CLI as child processes for tests that kill and restart parts. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Running {
  child: ChildProcess;
  ready: Record<string, unknown>;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Start a long-running command with `--json` and wait for its one ready line. */
export async function startCli(args: string[], timeoutMs = 60_000): Promise<Running> {
  const child = spawn(process.execPath, [CLI, ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AIRLOCK_LOG_LEVEL: 'warn' },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready: ${err}`));
    });
  });
  return {
    child,
    ready,
    stderr: () => err,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** Run a short command to completion; resolves with stdout, rejects with stderr on failure. */
export async function runCli(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0)
    throw Object.assign(new Error(`airlock ${args.join(' ')} exited ${code}: ${err}`), { code, err });
  return out;
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

/**
 * Starts `airlock relay`, adds tenant `acme`, writes a connector config (with `extraConfig` merged
 * in and the open test policy), enrolls, issues `agent-1` and starts `airlock connector run`.
 */
export async function startCliStack(
  extraConfig: Record<string, unknown>,
  upstreams: Record<string, unknown>,
): Promise<CliStack> {
  const { mkdtemp, readFile, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { stringify } = await import('yaml');
  const { OPEN_POLICY } = await import('./airlock-stack.js');
  const dir = await mkdtemp(join(tmpdir(), 'airlock-cli-stack-'));
  const relayArgs = (port: number) => [
    'relay',
    '--domain',
    'localhost',
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    '127.0.0.1:0',
    '--data-dir',
    join(dir, 'relay'),
  ];
  const relay = await startCli(relayArgs(0));
  const relayPort = relay.ready.port as number;
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
  // `connector run` answers once it has started; agents can be served once /readyz says so (a tunnel
  // is up and the upstreams are ready).
  const startConnector = async () => {
    const running = await startCli(['connector', 'run', '--config', configFile]);
    await untilReady(String(running.ready.adminUrl));
    return running;
  };
  const connector = await startConnector();
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
    relayArgs,
    startConnector,
    async close() {
      await stack.connector.kill('SIGTERM');
      await stack.relay.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
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
