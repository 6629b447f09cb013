/** The flags every agent-side command takes to reach a tenant (`bridge`, `forward`), and their loading. */
import type { Command } from 'commander';
import type { TenantConnection } from '../agent/index.js';

export interface TenantConnectionFlags {
  url: string;
  ca: string;
  cert?: string;
  key?: string;
  connect?: string;
}

export function tenantConnectionOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--url <url>', 'tenant MCP URL, e.g. https://acme.relay.example.com/mcp')
    .requiredOption('--ca <file>', 'tenant CA certificate (PEM) to pin')
    .option('--cert <file>', 'agent client certificate (PEM)')
    .option('--key <file>', 'agent private key (PEM)')
    .option('--connect <host:port>', 'open the TCP connection here instead of resolving the URL host');
}

export async function tenantConnectionFromFlags(flags: TenantConnectionFlags): Promise<TenantConnection> {
  const { loadTenantConnection } = await import('../agent/load-tenant-connection.js');
  return loadTenantConnection({
    url: flags.url,
    caFile: flags.ca,
    ...(flags.cert ? { certFile: flags.cert } : {}),
    ...(flags.key ? { keyFile: flags.key } : {}),
    ...(flags.connect ? { connect: flags.connect } : {}),
  });
}
