/** `airlock tenant add|list|token`: operator commands on the relay's store (the relay may be running). */
import type { Command } from 'commander';
import type { LoadedRelayConfig } from '../relay/relay-from-config.js';
import type { Store } from '../store/store.js';

interface StoreFlags {
  config?: string;
  dataDir?: string;
  domain?: string;
}

async function withRelayStore<T>(
  flags: StoreFlags,
  fn: (store: Store, loaded: LoadedRelayConfig) => Promise<T>,
) {
  const { loadRelayConfig, relayConfigFromValues } = await import('../relay/relay-from-config.js');
  const { openStore } = await import('../store/open-store.js');
  const loaded = flags.config
    ? await loadRelayConfig(flags.config)
    : relayConfigFromValues({
        domain: flags.domain ?? 'localhost',
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      });
  const store = await openStore({ url: loaded.storeUrl });
  try {
    return await fn(store, loaded);
  } finally {
    await store.close();
  }
}

function parseDuration(value: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(value);
  if (!match) throw new Error(`expected a duration like 90s, 15m or 2h, got "${value}"`);
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
}

function storeOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'relay config file')
    .option('--data-dir <dir>', 'relay data dir (default ./.airlock/relay)')
    .option('--domain <domain>', 'relay domain (default localhost)');
}

export function register(program: Command): void {
  const tenant = program
    .command('tenant')
    .description('manage tenants on the relay and their enrollment tokens');

  storeOptions(tenant.command('add <name>'))
    .description('add a tenant and print a one-time enrollment token for its connector')
    .option('--ttl <duration>', 'token lifetime, e.g. 15m', '15m')
    .action(async (name: string, flags: StoreFlags & { ttl: string }) => {
      const { addTenant, issueEnrollmentToken } = await import('../relay/tenant-admin.js');
      await withRelayStore(flags, async (store, loaded) => {
        await addTenant(store, name, `relay.${loaded.config.domain}`);
        const { token, expiresAt } = await issueEnrollmentToken(store, name, {
          ttlMs: parseDuration(flags.ttl),
        });
        process.stdout.write(
          `tenant ${name} → ${name}.${loaded.config.domain}\nenrollment token (single use, expires ${new Date(expiresAt).toISOString()}):\n${token}\n`,
        );
      });
    });

  storeOptions(tenant.command('token <name>'))
    .description('issue a new one-time enrollment token for an existing tenant')
    .option('--ttl <duration>', 'token lifetime, e.g. 15m', '15m')
    .action(async (name: string, flags: StoreFlags & { ttl: string }) => {
      const { issueEnrollmentToken } = await import('../relay/tenant-admin.js');
      await withRelayStore(flags, async (store) => {
        const { token } = await issueEnrollmentToken(store, name, { ttlMs: parseDuration(flags.ttl) });
        process.stdout.write(`${token}\n`);
      });
    });

  storeOptions(tenant.command('list'))
    .description('list tenants and their enrolled connectors')
    .action(async (flags: StoreFlags) => {
      await withRelayStore(flags, async (store, loaded) => {
        const tenants = await store.relay.listTenants();
        if (tenants.length === 0)
          process.stdout.write('no tenants yet: add one with "airlock tenant add <name>"\n');
        const tunnels = await liveTunnelCounts(loaded.config.admin.listen);
        for (const t of tenants) {
          const connectors = await store.relay.listConnectors(t.name);
          const live = connectors.filter((c) => !c.revokedAt).length;
          const online =
            tunnels === undefined
              ? 'relay not reachable: online state unknown'
              : (tunnels.get(t.name) ?? 0) > 0
                ? `online (${tunnels.get(t.name)} tunnel(s))`
                : 'offline (no tunnel)';
          process.stdout.write(
            `${t.name}\t${t.name}.${loaded.config.domain}\t${live} connector(s)\t${online}\n`,
          );
        }
      });
    });

  storeOptions(tenant.command('revoke-connector <connectorId>'))
    .description('revoke a connector credential; its tunnels are refused from the next connection')
    .action(async (id: string, flags: StoreFlags) => {
      const { AirlockError } = await import('../errors/airlock-error.js');
      await withRelayStore(flags, async (store) => {
        if (!(await store.relay.revokeConnector(id, Date.now()))) {
          throw new AirlockError('AIRLOCK_RELAY_CONNECTOR_UNKNOWN', `no connector with id "${id}"`);
        }
        process.stdout.write(`revoked connector ${id}\n`);
      });
    });
}

/**
 * Live tunnels per tenant, read from the running relay's admin `/metrics` (`airlock_relay_tunnels`);
 * undefined when the relay is not running or its admin port is not reachable from here.
 */
async function liveTunnelCounts(adminListen: string): Promise<Map<string, number> | undefined> {
  const at = adminListen.lastIndexOf(':');
  const host = adminListen.slice(0, at).replace(/^0\.0\.0\.0$/, '127.0.0.1');
  try {
    const res = await fetch(`http://${host}:${adminListen.slice(at + 1)}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return undefined;
    const counts = new Map<string, number>();
    for (const match of (await res.text()).matchAll(/^airlock_relay_tunnels\{tenant="([^"]+)"\} (\d+)$/gm)) {
      counts.set(match[1] as string, Number(match[2]));
    }
    return counts;
  } catch {
    return undefined;
  }
}
