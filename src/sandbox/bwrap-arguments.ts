/**
 * Builds the bubblewrap + prlimit command line for one sandboxed upstream from a resolved plan. Pure:
 * the plan names every path; nothing here touches the file system.
 *
 * The sandbox: every namespace unshared (user, pid, ipc, uts, cgroup and, unless allowed, network),
 * no capabilities, a new session (no terminal injection), killed with its parent, system directories
 * read-only, a private `/tmp`, its own `/proc` and a minimal `/dev`, only the planned paths bound, the
 * connector's data directory masked even below a bound path, and resource limits set by `prlimit`
 * before the command starts.
 */
import type { SandboxLimits } from './sandbox-config.js';
import type { SystemEntry } from './sandbox-paths.js';

export interface SandboxBind {
  path: string;
  writable: boolean;
}

export interface SandboxMask {
  /** Path inside the sandbox to hide. */
  path: string;
  /** Directories are covered by an empty tmpfs, files by `/dev/null`. */
  directory: boolean;
}

export interface BwrapPlan {
  network: boolean;
  system: SystemEntry[];
  /** Binds beyond the system entries, already ordered parents first. */
  binds: SandboxBind[];
  /** Applied after every bind. */
  masks: SandboxMask[];
  /** Working directory inside the sandbox. */
  cwd: string;
  /** Variables the spawn environment carries that the sandboxed command must not see. */
  unsetEnv: string[];
  limits: Required<SandboxLimits>;
  prlimitPath: string;
  /** Absolute path of the command. */
  command: string;
  args: string[];
}

/** Hostname inside the sandbox's own UTS namespace. */
export const SANDBOX_HOSTNAME = 'airlock-sandbox';

/**
 * bwrap arguments (without the bwrap binary itself) for `plan`.
 *
 * @example
 * spawn('bwrap', bwrapArguments(plan), { env, stdio: ['pipe', 'pipe', 'pipe'] });
 */
export function bwrapArguments(plan: BwrapPlan): string[] {
  const args = [
    '--unshare-all',
    ...(plan.network ? ['--share-net'] : []),
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--hostname',
    SANDBOX_HOSTNAME,
  ];
  for (const entry of plan.system) {
    if (entry.kind === 'symlink') args.push('--symlink', entry.target, entry.path);
    else args.push('--ro-bind-try', entry.path, entry.path);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  for (const bind of plan.binds) args.push(bind.writable ? '--bind' : '--ro-bind', bind.path, bind.path);
  for (const mask of plan.masks) {
    if (mask.directory) args.push('--tmpfs', mask.path, '--remount-ro', mask.path);
    else args.push('--ro-bind', '/dev/null', mask.path);
  }
  for (const name of plan.unsetEnv) args.push('--unsetenv', name);
  args.push('--dir', plan.cwd, '--chdir', plan.cwd);
  args.push('--', plan.prlimitPath, ...prlimitArguments(plan.limits), '--', plan.command, ...plan.args);
  return args;
}

/** `prlimit` options for `limits` (hard = soft). */
export function prlimitArguments(limits: Required<SandboxLimits>): string[] {
  const bytes = limits.memoryMb * 1024 * 1024;
  return [
    `--as=${bytes}:${bytes}`,
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds}`,
    `--nofile=${limits.openFiles}:${limits.openFiles}`,
    `--nproc=${limits.processes}:${limits.processes}`,
  ];
}
