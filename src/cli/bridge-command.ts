/** `airlock bridge`: a stdio MCP server forwarding to a tenant URL, for desktop clients that only speak stdio. */
import type { Command } from 'commander';

interface BridgeFlags {
  url: string;
  ca: string;
  cert?: string;
  key?: string;
  connect?: string;
}

export function register(program: Command): void {
  program
    .command('bridge')
    .description('stdio MCP server that forwards to a tenant URL with an agent identity')
    .requiredOption('--url <url>', 'tenant MCP URL, e.g. https://acme.relay.example.com/mcp')
    .requiredOption('--ca <file>', 'tenant CA certificate (PEM) to pin')
    .option('--cert <file>', 'agent client certificate (PEM)')
    .option('--key <file>', 'agent private key (PEM)')
    .option('--connect <host:port>', 'open the TCP connection here instead of resolving the URL host')
    .action(async (flags: BridgeFlags) => {
      const { loadTenantConnection } = await import('../agent/load-tenant-connection.js');
      const { runBridge } = await import('../agent/bridge.js');
      const { cliLogger } = await import('./logger.js');
      const conn = await loadTenantConnection({
        url: flags.url,
        caFile: flags.ca,
        ...(flags.cert ? { certFile: flags.cert } : {}),
        ...(flags.key ? { keyFile: flags.key } : {}),
        ...(flags.connect ? { connect: flags.connect } : {}),
      });
      const bridge = await runBridge(
        conn,
        { stdin: process.stdin, stdout: process.stdout },
        { logger: cliLogger(process.env.AIRLOCK_LOG_LEVEL ?? 'warn') },
      );
      await bridge.closed;
    });
}
