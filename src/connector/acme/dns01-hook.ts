/**
 * DNS-01 (RFC 8555 §8.4) through a command of the operator's: for installations whose relay domain the
 * ACME CA cannot reach, the connector asks a hook to publish the TXT record instead of answering
 * TLS-ALPN-01 through the relay. The hook is run without a shell:
 * `command ...args create|remove <record name> <value>`, with the same values in
 * `AIRLOCK_ACME_DNS_ACTION`, `AIRLOCK_ACME_DNS_NAME` and `AIRLOCK_ACME_DNS_VALUE`. `create` must exit 0
 * once the record is visible to the CA.
 *
 * @example
 * const hook = new Dns01Hook({ command: '/usr/local/bin/publish-txt', args: ['--zone', 'acme.example'] });
 * await hook.run('create', '_acme-challenge.acme.relay.example', 'gfj9Xq...Rg85nM');
 */
import { execFile } from 'node:child_process';
import { AirlockError } from '../../errors/airlock-error.js';

/** Each run of the hook must finish within this time. */
export const DEFAULT_DNS01_HOOK_TIMEOUT_MS = 120_000;

export interface Dns01HookOptions {
  command: string;
  args?: string[];
  /** Default {@link DEFAULT_DNS01_HOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** The hook failed or timed out (the order fails and is retried with backoff). */
export class Dns01HookError extends AirlockError {}

export class Dns01Hook {
  constructor(private readonly options: Dns01HookOptions) {}

  /** Runs the hook; rejects with `AIRLOCK_ACME_DNS_HOOK_FAILED` when it exits non-zero or times out. */
  run(action: 'create' | 'remove', name: string, value: string): Promise<void> {
    const args = [...(this.options.args ?? []), action, name, value];
    return new Promise((resolve, reject) => {
      execFile(
        this.options.command,
        args,
        {
          timeout: this.options.timeoutMs ?? DEFAULT_DNS01_HOOK_TIMEOUT_MS,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            AIRLOCK_ACME_DNS_ACTION: action,
            AIRLOCK_ACME_DNS_NAME: name,
            AIRLOCK_ACME_DNS_VALUE: value,
          },
          maxBuffer: 64 * 1024,
        },
        (err, _stdout, stderr) => {
          if (!err) return resolve();
          reject(
            new Dns01HookError(
              'AIRLOCK_ACME_DNS_HOOK_FAILED',
              `DNS-01 hook "${this.options.command} ${action} ${name}" failed: ${err.message}${stderr ? `: ${String(stderr).trim().slice(0, 500)}` : ''}`,
              { cause: err, retryable: true },
            ),
          );
        },
      );
    });
  }
}
