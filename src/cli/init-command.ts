/**
 * `airlock init relay|connector`: writes a commented, minimal config file that loads as it is, for the
 * operator to edit. Refuses to overwrite an existing file unless `--force`; `--out -` prints it.
 *
 * @example
 * airlock init connector --out /etc/airlock/connector.yaml --relay-url tls://relay.example.com:443
 */
import type { Command } from 'commander';

/** Values substituted into the templates. */
export interface InitValues {
  /** Relay: the DNS domain (`<tenant>.<domain>`, `relay.<domain>`). */
  domain: string;
  /** Connector: where the relay is (`tls://host:443` or `wss://host:443`). */
  relayUrl: string;
  /** Where the part keeps its keys and store. */
  dataDir: string;
}

/** The relay config: every key at its default but `domain`; limits listed, commented out. */
export function relayConfigTemplate(v: Pick<InitValues, 'domain' | 'dataDir'>): string {
  return `# Airlock relay. Reference: README, "Configuration reference". Run it with: airlock relay --config <this file>
# Tenants are reached at <tenant>.${v.domain}; connectors dial relay.${v.domain}. Point a wildcard DNS record
# (*.${v.domain}) at this host.
domain: ${v.domain}

# The one public port, for agents and connectors alike (TLS, never decrypted for agents).
listen: 0.0.0.0:443

admin:
  # /metrics (Prometheus) and /healthz. Keep it on loopback or a private interface.
  listen: 127.0.0.1:9090

# Relay CA, relay TLS certificate, connector CA and the SQLite store (systemd: StateDirectory).
dataDir: ${v.dataDir}

# Several relay nodes share one PostgreSQL store:
# store: postgres://airlock@db.internal/airlock

# A publicly trusted certificate for relay.${v.domain} (default: a CA made in dataDir, which
# connectors pin with relay.caFile):
# tls:
#   certFile: /etc/airlock/relay.pem
#   keyFile: /etc/airlock/relay.key

# limits:
#   maxAgentConnectionsPerTenant: 1000
#   heartbeatIntervalMs: 15000
#   heartbeatTimeoutMs: 45000
`;
}

/** The connector config: one relay, one HTTP upstream, a stdio upstream commented out. */
export function connectorConfigTemplate(v: Pick<InitValues, 'relayUrl' | 'dataDir'>): string {
  return `# Airlock connector. Reference: README, "Configuration reference".
# 1. airlock connector enroll --config <this file> --token <token from "airlock tenant add">
# 2. airlock doctor connector --config <this file>
# 3. airlock connector run --config <this file>

# Tenant key and CA, connector credential, store, audit key. Relative paths are relative to this file.
dataDir: ${v.dataDir}

relay:
  # The relay's connector address: tls://relay.<domain>:443, or wss://... through an HTTP proxy.
  url: ${v.relayUrl}
  # The relay CA to pin (printed by "airlock relay"); omit when the relay has a publicly trusted certificate.
  # caFile: /etc/airlock/relay-ca.pem
  # Tunnels kept open (on distinct relay nodes when there are several).
  tunnels: 2

admin:
  # Console, /healthz, /readyz and /metrics. Loopback by default; never reachable through the relay.
  listen: 127.0.0.1:7070

# Who may call what, tiers, limits, PII actions (hot-reloaded). Without a policy every call is refused.
# policy:
#   file: ./policy.yaml

upstreams:
  # An MCP server on the private network (Streamable HTTP).
  wiki:
    url: http://127.0.0.1:8080/mcp
  # A stdio MCP server, started by the connector inside the sandbox (bubblewrap):
  # erp:
  #   command: /usr/bin/node
  #   args: [/opt/erp-mcp/server.js]
  #   sandbox:
  #     mode: required
  #     readWritePaths: [/var/lib/erp-mcp]
`;
}

interface InitFlags {
  out?: string;
  force?: boolean;
  domain?: string;
  relayUrl?: string;
  dataDir?: string;
}

async function writeConfig(text: string, out: string, force: boolean): Promise<void> {
  if (out === '-') {
    process.stdout.write(text);
    return;
  }
  const { writeFile } = await import('node:fs/promises');
  const { AirlockError } = await import('../errors/airlock-error.js');
  try {
    await writeFile(out, text, { flag: force ? 'w' : 'wx', mode: 0o640 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AirlockError('AIRLOCK_CLI_FILE_EXISTS', `${out} exists; pass --force to overwrite it`);
    }
    throw err;
  }
  process.stdout.write(`wrote ${out}\n`);
}

/** One `airlock init <kind>`: its file, its one specific flag and its template. */
interface InitKind {
  name: 'relay' | 'connector';
  /** The flag besides --out, --data-dir and --force, e.g. `--domain <domain>`. */
  flag: { spec: string; description: string; fallback: string; key: 'domain' | 'relayUrl' };
  dataDir: { description: string; fallback: string };
  template: (flag: string, dataDir: string) => string;
}

const INIT_KINDS: InitKind[] = [
  {
    name: 'relay',
    flag: {
      spec: '--domain <domain>',
      description: 'tenants are <tenant>.<domain>',
      fallback: 'airlock.example.com',
      key: 'domain',
    },
    dataDir: { description: 'relay keys and store', fallback: '/var/lib/airlock-relay' },
    template: (domain, dataDir) => relayConfigTemplate({ domain, dataDir }),
  },
  {
    name: 'connector',
    flag: {
      spec: '--relay-url <url>',
      description: 'tls://relay.<domain>:443',
      fallback: 'tls://relay.airlock.example.com:443',
      key: 'relayUrl',
    },
    dataDir: { description: 'connector keys, store and audit trail', fallback: '/var/lib/airlock-connector' },
    template: (relayUrl, dataDir) => connectorConfigTemplate({ relayUrl, dataDir }),
  },
];

export function register(program: Command): void {
  const init = program.command('init').description('write a commented, minimal config file');
  for (const kind of INIT_KINDS) {
    const file = `${kind.name}.yaml`;
    init
      .command(kind.name)
      .description(`write a ${kind.name} config (default ./${file})`)
      .option('-o, --out <file>', 'where to write it ("-" for stdout)', file)
      .option(kind.flag.spec, kind.flag.description, kind.flag.fallback)
      .option('--data-dir <dir>', kind.dataDir.description, kind.dataDir.fallback)
      .option('--force', 'overwrite an existing file')
      .action(async (flags: InitFlags) => {
        const text = kind.template(
          flags[kind.flag.key] ?? kind.flag.fallback,
          flags.dataDir ?? kind.dataDir.fallback,
        );
        await writeConfig(text, flags.out ?? file, flags.force === true);
      });
  }
}
