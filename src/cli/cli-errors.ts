/**
 * How the CLI reports failures: one clear line on stderr with the stable code (and a `hint:` line when the
 * error carries one, e.g. agent-side `TenantFailureError`s), exit status 1 or 2.
 */
import { AirlockError, ConfigError } from '../errors/airlock-error.js';

export function reportCliError(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`airlock: invalid configuration\n${err.message}\n`);
    return 2;
  }
  if (err instanceof AirlockError) {
    const hint = (err as { hint?: unknown }).hint;
    process.stderr.write(`airlock: ${err.message} [${err.code}]\n`);
    if (typeof hint === 'string') process.stderr.write(`  hint: ${hint}\n`);
    return 1;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`airlock: unexpected failure\n${message}\n`);
  return 1;
}
