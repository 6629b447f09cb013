/** `airlock connector enroll|run`: the customer-side connector. */
import type { Command } from 'commander';

export function register(program: Command): void {
  const connector = program
    .command('connector')
    .description('the connector: dials out to the relay, terminates agent TLS, enforces policy');

  connector
    .command('enroll')
    .description('exchange a one-time enrollment token for this connector’s credential (key made locally)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .requiredOption('-t, --token <token>', 'enrollment token from "airlock tenant add"')
    .action(async (opts: { config: string; token: string }) => {
      const { loadConnectorContext } = await import('../connector/connector-context.js');
      const { enrollFromConfig } = await import('../connector/enroll-connector.js');
      const ctx = await loadConnectorContext(opts.config);
      const cred = await enrollFromConfig(ctx, opts.token);
      process.stdout.write(
        `enrolled as connector ${cred.connectorId} of tenant ${cred.tenant}; agents reach it at https://${cred.tenantHost}/mcp\n`,
      );
    });

  connector
    .command('run')
    .description('run the connector')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--admin <host:port>', 'override admin.listen')
    .option('--json', 'print one JSON line when ready')
    .action(async (opts: { config: string; admin?: string; json?: boolean }) => {
      const { loadConnectorContext } = await import('../connector/connector-context.js');
      const { startConnector } = await import('../connector/connector.js');
      const { cliLogger } = await import('./logger.js');
      const { catchShutdownSignals, runUntilSignal } = await import('./run-until-signal.js');
      const signals = catchShutdownSignals();
      const logger = cliLogger();
      const ctx = await loadConnectorContext(opts.config);
      const connector = await startConnector(ctx, {
        logger,
        ...(opts.admin ? { adminListen: opts.admin } : {}),
      });
      const ready = {
        tenantHost: connector.tenantHost,
        adminUrl: connector.adminUrl,
        caFile: connector.pki.caFile,
        agentsAddress: connector.agentsAddress
          ? { host: connector.agentsAddress.address, port: connector.agentsAddress.port }
          : null,
      };
      if (opts.json) process.stdout.write(`${JSON.stringify(ready)}\n`);
      else
        process.stdout.write(
          `connector for ${connector.tenantHost} running\n  console: ${connector.adminUrl}\n  tenant CA for agents: ${connector.pki.caFile}\n`,
        );
      await runUntilSignal(
        signals,
        () => connector.close(),
        (m) => logger.info(m),
      );
    });
}
