/** `airlock connector enroll|add|join|list|run`: the customer-side connector. */
import type { Command } from 'commander';

function registerEnroll(connector: Command): void {
  connector
    .command('enroll')
    .description('exchange a one-time enrollment token for this connector’s credential (key made locally)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .requiredOption('-t, --token <token>', 'enrollment token from "airlock tenant add"')
    .option(
      '--binding <dir>',
      'binding bundle from "airlock connector add" (default: bind with this connector’s own tenant CA, right for the first connector)',
    )
    .option('--key <file>', 'with --binding made for a CSR: this host’s connector key')
    .action(async (opts: { config: string; token: string; binding?: string; key?: string }) => {
      const { loadConnectorContext } = await import('../connector/connector-context.js');
      const { enrollFromConfig } = await import('../connector/enroll-connector.js');
      const { loadBindingBundle } = await import('../connector/credential-files.js');
      const ctx = await loadConnectorContext(opts.config);
      const binding = opts.binding ? await loadBindingBundle(opts.binding, opts.key) : undefined;
      const cred = await enrollFromConfig(ctx, opts.token, binding ? { binding } : {});
      process.stdout.write(
        `enrolled as connector ${cred.connectorId} of tenant ${cred.tenant}; agents reach it at https://${cred.tenantHost}/mcp\n`,
      );
    });
}

function registerAdd(connector: Command): void {
  connector
    .command('add')
    .description(
      'on an existing connector: issue a binding (signed by the tenant CA) that lets one more connector join this tenant, or with --bundle everything a pair member needs',
    )
    .requiredOption('-c, --config <file>', 'config file of an existing connector of the tenant')
    .option('-o, --out <dir>', 'directory for the binding bundle (connector.key, binding.pem, tenant-ca.pem)')
    .option('--csr <file>', 'bind the key of this CSR (made on the new host) instead of making a key here')
    .option(
      '--bundle <file>',
      'write a passphrase-sealed member bundle (tenant key and CA, vault and audit keys, binding) for "connector join"',
    )
    .option(
      '--passphrase-file <file>',
      'with --bundle: file whose first line is the passphrase (16+ characters)',
    )
    .action(
      async (opts: {
        config: string;
        out?: string;
        csr?: string;
        bundle?: string;
        passphraseFile?: string;
      }) => {
        const { loadConnectorContext } = await import('../connector/connector-context.js');
        const ctx = await loadConnectorContext(opts.config);
        if (opts.bundle) return addMember(ctx, opts.bundle, opts);
        const { AirlockError } = await import('../errors/airlock-error.js');
        if (!opts.out) throw new AirlockError('AIRLOCK_CLI_USAGE', 'give --out <dir> or --bundle <file>');
        const { readFile } = await import('node:fs/promises');
        const { issueConnectorBinding } = await import('../connector/enroll-client.js');
        const { loadOrCreateTenantCa } = await import('../connector/enroll-connector.js');
        const { saveBindingBundle } = await import('../connector/credential-files.js');
        const csr = opts.csr ? await readFile(opts.csr, 'utf8') : undefined;
        const binding = await issueConnectorBinding(await loadOrCreateTenantCa(ctx.dataDir), csr);
        await saveBindingBundle(opts.out, binding);
        process.stdout.write(
          `binding written to ${opts.out} (valid 7 days); on the new connector run:\n  airlock connector enroll -c <config> -t <token> --binding ${opts.out}\n`,
        );
      },
    );
}

async function addMember(
  ctx: import('../connector/connector-context.js').ConnectorContext,
  bundle: string,
  opts: { out?: string; csr?: string; passphraseFile?: string },
): Promise<void> {
  const { AirlockError } = await import('../errors/airlock-error.js');
  if (opts.out || opts.csr || !opts.passphraseFile)
    throw new AirlockError(
      'AIRLOCK_CLI_USAGE',
      '--bundle takes --passphrase-file, and neither --out nor --csr',
    );
  const { readPassphraseFile, writeMemberBundle } = await import('../connector/pair/member-join.js');
  const host = await writeMemberBundle(ctx, bundle, await readPassphraseFile(opts.passphraseFile));
  process.stdout.write(
    `member bundle for ${host} written to ${bundle} (binding valid 7 days); copy it and the passphrase (separately) to the new machine and run:\n  airlock connector join -c <config> -t <token> --bundle <file> --passphrase-file <file>\n`,
  );
}

function registerJoin(connector: Command): void {
  connector
    .command('join')
    .description(
      'join a tenant as one more member of its connector pair, with a bundle from "connector add --bundle"',
    )
    .requiredOption(
      '-c, --config <file>',
      'config of the new connector (same PostgreSQL store as the others)',
    )
    .requiredOption('--bundle <file>', 'the sealed member bundle')
    .requiredOption('--passphrase-file <file>', 'file whose first line is the bundle passphrase')
    .requiredOption('-t, --token <token>', 'enrollment token from "airlock tenant token"')
    .option('--force', 'replace different keys already in the data directory')
    .action(
      async (opts: {
        config: string;
        bundle: string;
        passphraseFile: string;
        token: string;
        force?: boolean;
      }) => {
        const { joinMember, readPassphraseFile } = await import('../connector/pair/member-join.js');
        const cred = await joinMember(opts.config, {
          bundle: opts.bundle,
          passphrase: await readPassphraseFile(opts.passphraseFile),
          token: opts.token,
          force: opts.force === true,
        });
        process.stdout.write(
          `joined tenant ${cred.tenant} as connector ${cred.connectorId}; start it with "airlock connector run -c ${opts.config}"\n`,
        );
      },
    );
}

function registerList(connector: Command): void {
  connector
    .command('list')
    .description(
      "every connector of this tenant: its state at the relay, and each pair member's heartbeat (version, tunnels, upstreams, audit signer, stale)",
    )
    .requiredOption('-c, --config <file>', 'connector config file (an enrolled, bound connector)')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      const { formatMember, listMembers } = await import('./connector-members.js');
      const { relayConnectors } = await import('./connector-relay-list.js');
      const { tenant, connectors, me, relayError } = await relayConnectors(opts.config);
      const members = await listMembers(opts.config);
      if (opts.json)
        return void process.stdout.write(`${JSON.stringify({ tenant, connectors, members, relayError })}\n`);
      if (relayError) process.stderr.write(`airlock: the relay did not answer: ${relayError}\n`);
      for (const c of connectors) {
        const seen = c.lastSeenAt === null ? 'never' : new Date(c.lastSeenAt).toISOString();
        const mine = c.id === me ? ' (this connector)' : '';
        process.stdout.write(`${c.id}\t${c.state}\ttunnels=${c.tunnels}\tlast seen ${seen}${mine}\n`);
      }
      if (members.length > 0) process.stdout.write('members (heartbeats in the shared store):\n');
      for (const m of members) process.stdout.write(`  ${formatMember(m, me)}\n`);
    });
}

function registerRun(connector: Command): void {
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

export function register(program: Command): void {
  const connector = program
    .command('connector')
    .description('the connector: dials out to the relay, terminates agent TLS, enforces policy');
  registerEnroll(connector);
  registerAdd(connector);
  registerJoin(connector);
  registerList(connector);
  registerRun(connector);
}
