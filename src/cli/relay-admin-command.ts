/**
 * `airlock relay drain --admin <url>` and `airlock relay status --admin <url>`: talk to a running relay
 * node's admin listener (`POST /drain`, `GET /status`). `<url>` is `http://host:port` or `host:port`.
 *
 * @example
 * airlock relay status --admin 127.0.0.1:9090
 * airlock relay drain --admin http://10.0.0.5:9090
 */
import type { Command } from 'commander';
import { AirlockError } from '../errors/airlock-error.js';
import type { RelayStatus } from '../relay/relay-status.js';

/** The relay node's admin listener could not be reached or refused the request. */
export class RelayAdminError extends AirlockError {
  constructor(message: string, cause?: unknown) {
    super('AIRLOCK_RELAY_ADMIN_UNREACHABLE', message, { cause, retryable: true });
  }
}

/** Time allowed for one admin request. */
export const DEFAULT_RELAY_ADMIN_TIMEOUT_MS = 10_000;

function adminUrl(admin: string, path: string): string {
  const base = /^https?:\/\//.test(admin) ? admin : `http://${admin}`;
  return new URL(path, base).toString();
}

async function adminRequest(admin: string, path: string, method: 'GET' | 'POST'): Promise<unknown> {
  const url = adminUrl(admin, path);
  let res: Response;
  try {
    res = await fetch(url, { method, signal: AbortSignal.timeout(DEFAULT_RELAY_ADMIN_TIMEOUT_MS) });
  } catch (err) {
    throw new RelayAdminError(
      `cannot reach the relay admin listener at ${url}: ${(err as Error).message}`,
      err,
    );
  }
  const text = await res.text();
  if (!res.ok) throw new RelayAdminError(`${method} ${url} answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}

/** Human-readable status: one line per node, then the tunnels here per tenant. */
export function formatRelayStatus(status: RelayStatus): string {
  const lines = [
    `node ${status.node ?? '(single node)'}${status.draining ? ' DRAINING' : ''}, presence lag ${
      status.presenceLagMs === null ? 'n/a' : `${status.presenceLagMs} ms`
    }`,
    'nodes:',
  ];
  for (const n of status.nodes) {
    lines.push(
      `  ${n.id}  ${n.publicAddress || '-'}  ${n.draining ? 'draining' : 'ready'}  tenants=${n.tenants ?? '?'}  tunnels=${n.tunnels ?? '?'}  lag=${n.lagMs ?? '?'} ms`,
    );
  }
  lines.push('tunnels on this node:');
  for (const [tenant, count] of Object.entries(status.tunnelsPerTenant)) lines.push(`  ${tenant}: ${count}`);
  return `${lines.join('\n')}\n`;
}

export function registerRelayAdminCommands(relay: Command): void {
  relay
    .command('drain')
    .description('drain a running relay node: /readyz turns 503, connectors move, then the node closes')
    .requiredOption('--admin <url>', 'admin listener of the node, e.g. 127.0.0.1:9090')
    .action(async (flags: { admin: string }) => {
      await adminRequest(flags.admin, '/drain', 'POST');
      process.stdout.write('draining\n');
    });
  relay
    .command('status')
    .description('show the cluster: nodes, tenants and tunnels per node, presence lag')
    .requiredOption('--admin <url>', 'admin listener of a node, e.g. 127.0.0.1:9090')
    .option('--json', 'print the status as JSON')
    .action(async (flags: { admin: string; json?: boolean }) => {
      const status = (await adminRequest(flags.admin, '/status', 'GET')) as RelayStatus;
      process.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : formatRelayStatus(status));
    });
}
