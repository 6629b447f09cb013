/**
 * `airlock forward`: a loopback HTTP endpoint that forwards to a tenant URL with an agent identity,
 * for MCP clients that speak Streamable HTTP but cannot pin a CA or present a client certificate.
 */
import type { Command } from 'commander';

interface ForwardFlags {
  url: string;
  ca: string;
  cert?: string;
  key?: string;
  connect?: string;
  listen: string;
  allowAnyHost?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('forward')
    .description('loopback HTTP endpoint forwarding to a tenant URL with an agent identity (mTLS, pinned CA)')
    .requiredOption('--url <url>', 'tenant MCP URL, e.g. https://acme.relay.example.com/mcp')
    .requiredOption('--ca <file>', 'tenant CA certificate (PEM) to pin')
    .option('--cert <file>', 'agent client certificate (PEM)')
    .option('--key <file>', 'agent private key (PEM)')
    .option('--connect <host:port>', 'open the TCP connection here instead of resolving the URL host')
    .option('--listen <host:port>', 'loopback address to listen on', '127.0.0.1:0')
    .option('--allow-any-host', 'forward foreign Host/Origin headers instead of refusing them (testing only)')
    .option('--json', 'print one JSON line when ready')
    .action(async (flags: ForwardFlags) => {
      const { loadTenantConnection } = await import('../agent/load-tenant-connection.js');
      const { startLocalForwarder } = await import('../agent/local-forwarder.js');
      const { listenAddress } = await import('../connector/listen-address.js');
      const { cliLogger } = await import('./logger.js');
      const { catchShutdownSignals, runUntilSignal } = await import('./run-until-signal.js');
      const signals = catchShutdownSignals();
      const logger = cliLogger();
      const conn = await loadTenantConnection({
        url: flags.url,
        caFile: flags.ca,
        ...(flags.cert ? { certFile: flags.cert } : {}),
        ...(flags.key ? { keyFile: flags.key } : {}),
        ...(flags.connect ? { connect: flags.connect } : {}),
      });
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
