/**
 * `airlock forward`: a loopback HTTP endpoint that forwards to a tenant URL with an agent identity,
 * for MCP clients that speak Streamable HTTP but cannot pin a CA or present a client certificate.
 */
import type { Command } from 'commander';
import { type TenantConnectionFlags, tenantConnectionOptions } from './tenant-connection-flags.js';

interface ForwardFlags extends TenantConnectionFlags {
  listen: string;
  allowAnyHost?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  tenantConnectionOptions(
    program
      .command('forward')
      .description(
        'loopback HTTP endpoint forwarding to a tenant URL with an agent identity (mTLS, pinned CA)',
      ),
  )
    .option('--listen <host:port>', 'loopback address to listen on', '127.0.0.1:0')
    .option('--allow-any-host', 'forward foreign Host/Origin headers instead of refusing them (testing only)')
    .option('--json', 'print one JSON line when ready')
    .action(async (flags: ForwardFlags) => {
      const { tenantConnectionFromFlags } = await import('./tenant-connection-flags.js');
      const { startLocalForwarder } = await import('../agent/local-forwarder.js');
      const { listenAddress } = await import('../net/listen-address.js');
      const { cliLogger } = await import('./logger.js');
      const { catchShutdownSignals, runUntilSignal } = await import('./run-until-signal.js');
      const signals = catchShutdownSignals();
      const logger = cliLogger();
      const conn = await tenantConnectionFromFlags(flags);
      const { host, port } = listenAddress(flags.listen);
      const forwarder = await startLocalForwarder(conn, {
        host,
        port,
        logger,
        ...(flags.allowAnyHost ? { allowedHostnames: 'any' as const } : {}),
      });
      if (flags.json)
        process.stdout.write(`${JSON.stringify({ url: forwarder.url, tenantUrl: flags.url })}\n`);
      else process.stdout.write(`forwarding ${forwarder.url} → ${flags.url}\n`);
      await runUntilSignal(
        signals,
        () => forwarder.close(),
        (m) => logger.info(m),
      );
    });
}
