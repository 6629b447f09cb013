/**
 * Errors of the stdio-upstream sandbox, with stable codes:
 * - `AIRLOCK_SANDBOX_UNAVAILABLE`: `mode: required` and bubblewrap/prlimit is missing or cannot create
 *   namespaces here (the server is not started).
 * - `AIRLOCK_SANDBOX_BAD_CONFIG`: the sandbox config contradicts itself (e.g. a bound path inside the
 *   connector's data directory, which upstreams may never see).
 */
import { AirlockError } from '../errors/airlock-error.js';

export class SandboxError extends AirlockError {}

export function sandboxUnavailable(upstream: string, reason: string): SandboxError {
  return new SandboxError(
    'AIRLOCK_SANDBOX_UNAVAILABLE',
    `upstream '${upstream}' requires a sandbox, but none can be created here: ${reason}. ` +
      'Install bubblewrap and util-linux (Debian: apt-get install bubblewrap util-linux; see scripts/install-system-deps.sh), ' +
      'point sandbox.bwrapPath at it when it is not on PATH, allow unprivileged user namespaces ' +
      '(sysctl kernel.unprivileged_userns_clone=1 / kernel.apparmor_restrict_unprivileged_userns=0), ' +
      "or, accepting that the server then runs as the connector's own user and can read its keys, " +
      'set sandbox.mode to "preferred" or "off" for this upstream.',
  );
}

export function sandboxBadConfig(upstream: string, reason: string): SandboxError {
  return new SandboxError('AIRLOCK_SANDBOX_BAD_CONFIG', `upstream '${upstream}' sandbox: ${reason}`);
}
