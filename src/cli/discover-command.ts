/**
 * `airlock discover`: find MCP servers on the ranges and ports you name, and which of them this
 * connector governs.
 *
 *   airlock discover --cidr 10.0.0.0/24 --ports 3000-3010,8080 [--config connector.yaml] [--rate 20] [--out found.json]
 *
 * Bounded (`--max-targets`, default 1024 address × port pairs), rate-limited (`--rate` probes per
 * second, `--concurrency` at once), and it never connects outside the named ranges: a `--target`
 * outside them is refused and a redirect is never followed.
 */
import type { Command } from 'commander';

interface DiscoverFlags {
  cidr: string[];
  ports?: string;
  target: string[];
  path: string[];
  rate?: number;
  concurrency?: number;
  maxTargets?: number;
  timeout?: number;
  config?: string;
  out?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};

export function register(program: Command): void {
  program
    .command('discover')
    .description(
      'probe named address ranges and ports for MCP servers (both eras); mark which this connector governs',
    )
    .option('--cidr <range>', 'address range to probe, e.g. 10.0.0.0/24 (repeatable)', collect, [])
    .option('--ports <list>', 'ports, e.g. 3000-3010,8080')
    .option(
      '--target <host:port>',
      'probe only this endpoint; it must be inside a --cidr (repeatable)',
      collect,
      [],
    )
    .option('--path <path>', 'URL path to try on each open port (repeatable; default /mcp)', collect, [])
    .option('--rate <n>', 'probes started per second (default 20)', positive('rate'))
    .option('--concurrency <n>', 'probes at once (default 8)', positive('concurrency'))
    .option('--max-targets <n>', 'most address × port pairs (default 1024)', positive('max-targets'))
    .option('--timeout <ms>', 'per connect / handshake (default 3000)', positive('timeout'))
    .option('-c, --config <file>', 'connector config: its HTTP upstreams count as governed')
    .option('-o, --out <file.json>', 'write the result (for "airlock report --discover")')
    .option('--json', 'print the result as JSON')
    .action(async (flags: DiscoverFlags) => {
      const { ReportError } = await import('../report/report-model.js');
      if (!flags.ports)
        throw new ReportError('AIRLOCK_DISCOVER_USAGE', 'give --ports, e.g. --ports 3000-3010');
      const { discoverMcpServers } = await import('../discover/discover.js');
      const governed = flags.config ? await httpUpstreams(flags.config) : [];
      const result = await discoverMcpServers({
        cidrs: flags.cidr,
        ports: flags.ports,
        ...(flags.target.length ? { targets: flags.target } : {}),
        ...(flags.path.length ? { paths: flags.path } : {}),
        ...(flags.rate ? { rate: flags.rate } : {}),
        ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
        ...(flags.maxTargets ? { maxTargets: flags.maxTargets } : {}),
        ...(flags.timeout ? { timeoutMs: flags.timeout } : {}),
        governed,
        reproduce: `airlock ${process.argv.slice(2).join(' ')}`,
      });
      if (flags.out) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(flags.out, `${JSON.stringify(result, null, 2)}\n`);
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else {
        process.stdout.write(
          `probed ${result.probed} address:port pairs, ${result.open} open, ${result.endpoints.length} MCP endpoints\n`,
        );
        for (const e of result.endpoints) {
          process.stdout.write(
            `${e.url}\t${e.governed ? `governed (${e.upstream})` : 'NOT governed'}\t${e.serverInfo ? `${e.serverInfo.name} ${e.serverInfo.version}` : '-'}\t${e.eras.join(',')}\t${e.tools.join(' ')}\n`,
          );
        }
      }
    });
}

async function httpUpstreams(configFile: string): Promise<Array<{ name: string; url: string }>> {
  const { loadConnectorContext } = await import('../connector/connector-context.js');
  const ctx = await loadConnectorContext(configFile);
  return Object.entries(ctx.config.upstreams).flatMap(([name, u]) => (u.url ? [{ name, url: u.url }] : []));
}
