/**
 * `airlock relay`: run the public relay (one port for agents and connectors, plus an admin port).
 * SIGTERM drains the node first (`/readyz` 503, connectors move, streams finish within `drainGraceMs`);
 * SIGINT closes at once. `airlock relay drain|status --admin <url>` talk to a running node's admin port.
 */
import type { Command } from 'commander';
import { registerRelayAdminCommands } from './relay-admin-command.js';

interface RelayFlags {
  config?: string;
  domain?: string;
  listen?: string;
  admin?: string;
  dataDir?: string;
  json?: boolean;
}

export function register(program: Command): void {
  // `relay status --admin …`: options after a sub-command name belong to the sub-command (commander
  // needs this on the root too; the root has no options of its own, so nothing else changes).
  program.enablePositionalOptions();
  const relayCommand = program.command('relay').enablePositionalOptions();
  registerRelayAdminCommands(relayCommand);
  relayCommand
    .description('run the relay: routes agents by SNI to tenant tunnels without decrypting anything')
    .option('-c, --config <file>', 'relay config file (YAML)')
    .option('--domain <domain>', 'tenants are <tenant>.<domain>, connectors dial relay.<domain>')
    .option('--listen <host:port>', 'public listener (default 0.0.0.0:443)')
    .option('--admin <host:port>', 'admin listener for /metrics and /healthz (default 127.0.0.1:9090)')
    .option('--data-dir <dir>', 'relay identity and store (default ./.airlock/relay)')
    .option('--json', 'print one JSON line when ready')
    .action(async (flags: RelayFlags) => {
      const { loadRelayConfig, relayConfigFromValues, startRelayFromConfig } = await import(
        '../relay/relay-from-config.js'
      );
      const { cliLogger } = await import('./logger.js');
      const { catchShutdownSignals, runUntilSignal } = await import('./run-until-signal.js');
      const signals = catchShutdownSignals();
      const { join } = await import('node:path');
      const loaded = flags.config
        ? await loadRelayConfig(flags.config)
        : relayConfigFromValues({
            domain: flags.domain ?? 'localhost',
            ...(flags.listen ? { listen: flags.listen } : {}),
            ...(flags.admin ? { admin: { listen: flags.admin } } : {}),
            ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
          });
      const logger = cliLogger();
      const relay = await startRelayFromConfig(loaded, logger);
      const ready = {
        relayHost: relay.relayHost,
        domain: relay.domain,
        host: relay.host,
        port: relay.port,
        adminPort: relay.adminPort,
        caFile: join(loaded.dataDir, 'identity', 'ca.pem'),
        dataDir: loaded.dataDir,
      };
      if (flags.json) process.stdout.write(`${JSON.stringify(ready)}\n`);
      else
        process.stdout.write(
          `relay ready on ${relay.host}:${relay.port} (tenants: <name>.${relay.domain}, connectors: ${relay.relayHost})\n` +
            `  metrics: http://127.0.0.1:${relay.adminPort}/metrics\n  relay CA for connectors: ${ready.caFile}\n`,
        );
      // A drain started from outside (`airlock relay drain`) ends with the relay closed: exit then too.
      const { RELAY_CLOSED_EVENT } = await import('../relay/relay-shutdown.js');
      const closed = new Promise<'closed'>((r) => relay.events.once(RELAY_CLOSED_EVENT, () => r('closed')));
      const signal = await Promise.race([signals.received, closed]);
      if (signal === 'closed') {
        signals.dispose();
        return;
      }
      await runUntilSignal(
        signals,
        () => (signal === 'SIGTERM' ? relay.drain() : relay.close()),
        (m) => logger.info(m),
      );
    });
}
