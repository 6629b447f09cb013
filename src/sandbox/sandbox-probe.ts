/**
 * Can a sandbox be created here? Runs the real thing once — bubblewrap with every namespace, then
 * prlimit with the configured limits — and caches the answer per binary set, user and limits. Fails
 * (with the reason) when bwrap or prlimit is missing, user namespaces are disabled, or a limit cannot
 * be set.
 */
import { execFile } from 'node:child_process';
import { bwrapArguments } from './bwrap-arguments.js';
import type { SandboxLimits } from './sandbox-config.js';
import { systemEntries } from './sandbox-paths.js';

/** Time the probe may take before the sandbox is declared unavailable. */
export const DEFAULT_SANDBOX_PROBE_TIMEOUT_MS = 5000;

export type SandboxProbeResult = { ok: true } | { ok: false; reason: string };

export interface SandboxProbeInput {
  bwrapPath: string;
  prlimitPath: string;
  /** `setpriv` command prefix when the sandbox must drop from root to another user. */
  prefix: string[];
  limits: Required<SandboxLimits>;
  timeoutMs?: number;
}

const cache = new Map<string, Promise<SandboxProbeResult>>();

/**
 * Probes (cached). The first call per distinct input spawns `bwrap … -- prlimit … -- prlimit --version`.
 *
 * @example
 * const probe = await probeSandbox({ bwrapPath: '/usr/bin/bwrap', prlimitPath: '/usr/bin/prlimit', prefix: [], limits });
 * if (!probe.ok) console.warn(probe.reason);
 */
export function probeSandbox(input: SandboxProbeInput): Promise<SandboxProbeResult> {
  const key = JSON.stringify([input.bwrapPath, input.prlimitPath, input.prefix, input.limits]);
  let result = cache.get(key);
  if (!result) {
    result = runProbe(input);
    cache.set(key, result);
  }
  return result;
}

/** Forgets cached probe results (tests, or after installing bubblewrap). */
export function clearSandboxProbeCache(): void {
  cache.clear();
}

function runProbe(input: SandboxProbeInput): Promise<SandboxProbeResult> {
  const args = bwrapArguments({
    network: false,
    system: systemEntries(false),
    binds: [],
    masks: [],
    cwd: '/tmp',
    unsetEnv: [],
    limits: input.limits,
    prlimitPath: input.prlimitPath,
    command: input.prlimitPath,
    args: ['--version'],
  });
  const [file, ...prefixArgs] = input.prefix.length > 0 ? input.prefix : [input.bwrapPath];
  const fullArgs = input.prefix.length > 0 ? [...prefixArgs, input.bwrapPath, ...args] : args;
  return new Promise((resolve) => {
    execFile(
      file!,
      fullArgs,
      { timeout: input.timeoutMs ?? DEFAULT_SANDBOX_PROBE_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin' } },
      (err, _stdout, stderr) => {
        if (!err) {
          resolve({ ok: true });
          return;
        }
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          resolve({ ok: false, reason: `${file} not found` });
          return;
        }
        const detail = String(stderr).trim().split('\n').slice(-2).join(' ') || err.message;
        resolve({ ok: false, reason: `the sandbox probe failed: ${detail}` });
      },
    );
  });
}
