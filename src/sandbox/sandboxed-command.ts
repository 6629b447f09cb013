/**
 * Turns a stdio upstream's command into the command line that actually runs: the command itself
 * (sandbox `off`, or `preferred` where no sandbox can be made) or bubblewrap + prlimit around it.
 *
 * Inside the sandbox the upstream sees the system directories read-only, its own command and script
 * package read-only, the paths its config names, a private `/tmp`, and nothing else: no network unless
 * allowed, never the connector's data directory (tenant key, CA key, connector credential, store), no
 * other process, and only the environment it is given (`PATH`, `HOME=/tmp`, the allow-listed names
 * and its own `env`). When the connector runs as root, the sandbox runs as an unprivileged user
 * (`runAs`, default 65534:65534), because the kernel does not apply process limits to root.
 *
 * @example
 * const spec = await prepareSandboxedCommand(
 *   { name: 'erp', command: 'node', args: ['dist/samples/erp/server.js'], env: {}, sandbox: { mode: 'required' } },
 *   { logger },
 * );
 * new StdioClientTransport({ command: spec.command, args: spec.args, env: spec.env, cwd: spec.cwd });
 */
import { statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { type Logger, pino } from 'pino';
import { type BwrapPlan, bwrapArguments, type SandboxBind, type SandboxMask } from './bwrap-arguments.js';
import { unreachableParent } from './path-reachability.js';
import {
  DEFAULT_SANDBOX_MODE,
  DEFAULT_SANDBOX_ROOT_FALLBACK_USER,
  effectiveLimits,
  type SandboxConfig,
  type SandboxMode,
} from './sandbox-config.js';
import { sandboxBadConfig, sandboxUnavailable } from './sandbox-error.js';
import {
  commandPaths,
  isInside,
  realpathOr,
  resolveExecutable,
  scriptPaths,
  systemEntries,
} from './sandbox-paths.js';
import { probeSandbox } from './sandbox-probe.js';

/** `PATH` inside the sandbox. */
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** `HOME` inside the sandbox: the private, empty `/tmp`. */
export const SANDBOX_HOME = '/tmp';
/**
 * Variables the MCP SDK's stdio transport always copies from the connector's environment into the
 * spawned process; the sandbox unsets those that are not explicitly allowed.
 */
const SDK_INHERITED_ENV = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'];

export interface SandboxedCommandInput {
  /** Upstream name (for errors and logs). */
  name: string;
  command: string;
  args: string[];
  /** The upstream's own `env` from its config. */
  env: Record<string, string>;
  /** Working directory on the host (default: the connector's). */
  cwd?: string;
  /** Undefined: no sandbox (library default; the connector always passes one, mode `required` by default). */
  sandbox: SandboxConfig | undefined;
}

export interface SandboxedCommandOptions {
  /** Default silent. */
  logger?: Logger;
  /** The connector's environment, source of allow-listed variables. Default `process.env`. */
  processEnv?: NodeJS.ProcessEnv;
  /** The connector's uid. Default `process.getuid()`. */
  uid?: number;
}

/** What to spawn. */
export interface SpawnSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** True when the command runs inside the sandbox. */
  sandboxed: boolean;
  /** Why it is not sandboxed (mode `off`, or the reason the sandbox is unavailable). */
  unsandboxedReason?: string;
}

/**
 * Decides how to run a stdio upstream and builds the command line. Throws `SandboxError`
 * `AIRLOCK_SANDBOX_UNAVAILABLE` when the mode is `required` and no sandbox can be created, and
 * `AIRLOCK_SANDBOX_BAD_CONFIG` for contradictory configuration (whatever the mode).
 */
export async function prepareSandboxedCommand(
  input: SandboxedCommandInput,
  options: SandboxedCommandOptions = {},
): Promise<SpawnSpec> {
  const log = options.logger ?? pino({ level: 'silent' });
  const sandbox = input.sandbox;
  const mode: SandboxMode = sandbox ? (sandbox.mode ?? DEFAULT_SANDBOX_MODE) : 'off';
  const plain: SpawnSpec = {
    command: input.command,
    args: input.args,
    env: input.env,
    ...(input.cwd ? { cwd: input.cwd } : {}),
    sandboxed: false,
  };
  if (mode === 'off' || !sandbox) return { ...plain, unsandboxedReason: 'sandbox mode is off' };

  const processEnv = options.processEnv ?? process.env;
  const unavailable = (reason: string): SpawnSpec => {
    if (mode === 'required') throw sandboxUnavailable(input.name, reason);
    log.warn(
      { upstream: input.name, reason },
      'sandbox unavailable: running this upstream WITHOUT a sandbox (sandbox.mode is "preferred")',
    );
    return { ...plain, unsandboxedReason: reason };
  };
  if (process.platform !== 'linux')
    return unavailable(`sandboxing needs Linux (this is ${process.platform})`);

  const hostPath = processEnv.PATH;
  const binary = (configured: string | undefined, name: string): string | undefined =>
    resolveExecutable(configured ?? name, { cwd: '/', pathEnv: hostPath });
  const missing = (configured: string | undefined, what: string) =>
    configured ? `${configured} not found (or not executable)` : `${what} is not installed`;
  const bwrapPath = binary(sandbox.bwrapPath, 'bwrap');
  if (!bwrapPath) return unavailable(missing(sandbox.bwrapPath, 'bubblewrap (bwrap)'));
  const prlimitPath = binary(sandbox.prlimitPath, 'prlimit');
  if (!prlimitPath) return unavailable(missing(sandbox.prlimitPath, 'prlimit (util-linux)'));
  const uid = options.uid ?? process.getuid?.() ?? -1;
  let prefix: string[] = [];
  if (uid === 0) {
    const setprivPath = binary(sandbox.setprivPath, 'setpriv');
    if (!setprivPath)
      return unavailable(
        `${missing(sandbox.setprivPath, 'setpriv (util-linux)')}; it is needed when running as root`,
      );
    const user = sandbox.runAs ?? DEFAULT_SANDBOX_ROOT_FALLBACK_USER;
    prefix = [setprivPath, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
  }
  const limits = effectiveLimits(sandbox.limits);

  // Configuration errors are reported whatever the mode: a contradictory sandbox is never "preferred".
  const plan = planSandbox(input, sandbox, { processEnv, prlimitPath, limits });

  if (uid === 0) {
    const user = sandbox.runAs ?? DEFAULT_SANDBOX_ROOT_FALLBACK_USER;
    for (const bind of plan.bwrap.binds) {
      const blocked = unreachableParent(bind.path, user);
      if (blocked) {
        return unavailable(
          `${bind.path} is not reachable by the sandbox user ${user.uid}:${user.gid}: ${blocked} does not let it search (chmod o+x ${blocked}, or run the connector as an unprivileged user)`,
        );
      }
    }
  }

  const probe = await probeSandbox({ bwrapPath, prlimitPath, prefix, limits });
  if (!probe.ok) return unavailable(probe.reason);

  const bwrapArgs = bwrapArguments(plan.bwrap);
  const [command, ...prefixArgs] = prefix.length > 0 ? prefix : [bwrapPath];
  return {
    command: command!,
    args: prefix.length > 0 ? [...prefixArgs, bwrapPath, ...bwrapArgs] : bwrapArgs,
    env: plan.env,
    cwd: '/',
    sandboxed: true,
  };
}

function planSandbox(
  input: SandboxedCommandInput,
  sandbox: SandboxConfig,
  ctx: { processEnv: NodeJS.ProcessEnv; prlimitPath: string; limits: BwrapPlan['limits'] },
): { bwrap: BwrapPlan; env: Record<string, string> } {
  const hostCwd = resolve(input.cwd ?? process.cwd());
  const absolute = (p: string) => (isAbsolute(p) ? resolve(p) : resolve(hostCwd, p));
  const pathEnv = input.env.PATH ?? ctx.processEnv.PATH;
  const executable = resolveExecutable(input.command, { cwd: hostCwd, pathEnv });
  if (!executable) throw sandboxBadConfig(input.name, `command '${input.command}' not found`);

  const hidden = (sandbox.hiddenPaths ?? []).map(absolute);
  const binds = planBinds(input, sandbox, { executable, hidden, absolute });
  const env = sandboxEnv(input, sandbox, ctx.processEnv);
  const cwd = hidden.some((h) => isInside(hostCwd, h)) ? '/tmp' : hostCwd;
  return {
    bwrap: {
      network: sandbox.network ?? false,
      system: systemEntries(sandbox.network ?? false),
      binds,
      masks: hiddenPathMasks(hidden, binds),
      cwd,
      unsetEnv: SDK_INHERITED_ENV.filter((name) => !(name in env)),
      limits: ctx.limits,
      prlimitPath: ctx.prlimitPath,
      command: executable,
      args: input.args,
    },
    env,
  };
}

/**
 * The host paths bound into the sandbox, shallowest first: the command and its script (read-only),
 * then `readOnlyPaths` and `readWritePaths`. A bind inside a hidden path is a configuration error.
 */
function planBinds(
  input: SandboxedCommandInput,
  sandbox: SandboxConfig,
  paths: { executable: string; hidden: string[]; absolute: (p: string) => string },
): SandboxBind[] {
  const { hidden, absolute } = paths;
  const auto = [...commandPaths(paths.executable)];
  const script = input.args.find((arg) => !arg.startsWith('-') && isFile(absolute(arg)));
  if (script) auto.push(...scriptPaths(absolute(script)));

  const binds = new Map<string, boolean>();
  const addBind = (path: string, writable: boolean, what: string) => {
    const real = realpathOr(path);
    for (const h of hidden) {
      const hReal = realpathOr(h);
      if (isInside(path, h) || isInside(real, hReal)) {
        throw sandboxBadConfig(
          input.name,
          `${what} '${path}' is inside '${h}', which upstreams may never see (the connector's data directory)`,
        );
      }
    }
    binds.set(path, (binds.get(path) ?? false) || writable);
  };
  for (const path of auto) addBind(path, false, 'the command or script');
  for (const p of sandbox.readOnlyPaths ?? []) {
    const path = absolute(p);
    if (!exists(path)) throw sandboxBadConfig(input.name, `readOnlyPaths entry '${path}' does not exist`);
    addBind(path, false, 'readOnlyPaths entry');
  }
  for (const p of sandbox.readWritePaths ?? []) {
    const path = absolute(p);
    if (!exists(path)) throw sandboxBadConfig(input.name, `readWritePaths entry '${path}' does not exist`);
    addBind(path, true, 'readWritePaths entry');
  }
  return [...binds.entries()]
    .map(([path, writable]) => ({ path, writable }))
    .sort((a, b) => depth(a.path) - depth(b.path) || a.path.localeCompare(b.path));
}

/** Hidden paths that a bind would expose, masked at their place inside the sandbox. */
function hiddenPathMasks(hidden: string[], binds: SandboxBind[]): SandboxMask[] {
  const masks: SandboxMask[] = [];
  for (const h of hidden) {
    if (!exists(h)) continue;
    const hReal = realpathOr(h);
    for (const bind of binds) {
      const bReal = realpathOr(bind.path);
      if (!isInside(hReal, bReal)) continue;
      const inside = join(bind.path, relative(bReal, hReal));
      if (!masks.some((m) => m.path === inside)) masks.push({ path: inside, directory: isDirectory(h) });
    }
  }
  return masks;
}

/** The upstream's environment: a fixed PATH and HOME, the `env` names passed through, then its own `env`. */
function sandboxEnv(
  input: SandboxedCommandInput,
  sandbox: SandboxConfig,
  processEnv: NodeJS.ProcessEnv,
): Record<string, string> {
  const env: Record<string, string> = { PATH: SANDBOX_PATH, HOME: SANDBOX_HOME };
  for (const name of sandbox.env ?? []) {
    const value = processEnv[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, input.env);
  return env;
}

function depth(path: string): number {
  return path.split('/').length;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
