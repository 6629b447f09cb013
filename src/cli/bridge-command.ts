/** `airlock bridge`: a stdio MCP server forwarding to a tenant URL, for desktop clients that only speak stdio. */
import type { Command } from 'commander';
import { type TenantConnectionFlags, tenantConnectionOptions } from './tenant-connection-flags.js';

export function register(program: Command): void {
  tenantConnectionOptions(
    program
      .command('bridge')
      .description('stdio MCP server that forwards to a tenant URL with an agent identity'),
  ).action(async (flags: TenantConnectionFlags) => {
    const { tenantConnectionFromFlags } = await import('./tenant-connection-flags.js');
    const { runBridge } = await import('../agent/bridge.js');
    const { cliLogger } = await import('./logger.js');
    const conn = await tenantConnectionFromFlags(flags);
    const bridge = await runBridge(
      conn,
      { stdin: process.stdin, stdout: process.stdout },
      { logger: cliLogger(process.env.AIRLOCK_LOG_LEVEL ?? 'warn') },
    );
    await bridge.closed;
  });
}
