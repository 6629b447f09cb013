/**
 * `airlock identity issue|list|revoke`: agent identities (client certificates from the tenant CA).
 * Issuing and revoking are recorded in the audit trail (`identity.issue`, `identity.revoke`).
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  const identity = program
    .command('identity')
    .description('issue, list and revoke agent identities (client certificates from the tenant CA)');

  identity
    .command('issue <name>')
    .description('issue a client certificate for an agent; writes cert.pem, key.pem and ca.pem')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('-o, --out <dir>', 'output directory (default: <dataDir>/agents/<name>)')
    .option('--days <n>', 'validity in days', (v) => Number.parseInt(v, 10), 90)
    .action(async (name: string, opts: { config: string; out?: string; days: number }) => {
      const { withConnectorStore } = await import('./connector-store.js');
      const { ensureTenantPki, issueAgentIdentity } = await import('../identity/tenant-pki.js');
      const { requireTenantHost } = await import('../connector/connector-context.js');
      const { join } = await import('node:path');
      await withConnectorStore(opts.config, async (ctx, store) => {
        const pki = await ensureTenantPki(join(ctx.dataDir, 'tenant'), requireTenantHost(ctx));
        const outDir = opts.out ?? join(ctx.dataDir, 'agents', name);
        const issued = await issueAgentIdentity(pki, store, name, outDir, { validDays: opts.days });
        const { recordIdentityAction } = await import('./identity-audit.js');
        await recordIdentityAction(ctx, store, {
          action: 'identity.issue',
          target: name,
          detail: {
            spiffeId: issued.record.spiffeId,
            certSerial: issued.record.certSerial,
            notAfter: issued.record.notAfter,
          },
        });
        process.stdout.write(
          `issued ${issued.record.spiffeId}\n  certificate: ${issued.certFile}\n  private key: ${issued.keyFile}\n  tenant CA:   ${issued.caFile}\n  expires:     ${new Date(issued.record.notAfter).toISOString()}\n`,
        );
      });
    });

  identity
    .command('list')
    .description('list agent identities')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      const { withConnectorStore } = await import('./connector-store.js');
      await withConnectorStore(opts.config, async (_ctx, store) => {
        const all = await store.identities.listIdentities();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(all)}\n`);
          return;
        }
        if (all.length === 0) {
          process.stdout.write('no agent identities yet: issue one with "airlock identity issue <name>"\n');
          return;
        }
        for (const i of all) {
          const state = i.revokedAt ? `revoked ${new Date(i.revokedAt).toISOString()}` : 'active';
          process.stdout.write(
            `${i.name}\t${i.spiffeId}\t${state}\texpires ${new Date(i.notAfter).toISOString()}\n`,
          );
        }
      });
    });

  identity
    .command('revoke <name>')
    .description('revoke every certificate of an agent; takes effect on its next request')
    .requiredOption('-c, --config <file>', 'connector config file')
    .action(async (name: string, opts: { config: string }) => {
      const { withConnectorStore } = await import('./connector-store.js');
      const { revokeAgentIdentity } = await import('../identity/tenant-pki.js');
      const { AirlockError } = await import('../errors/airlock-error.js');
      await withConnectorStore(opts.config, async (ctx, store) => {
        if (!(await revokeAgentIdentity(store, name))) {
          throw new AirlockError('AIRLOCK_IDENTITY_UNKNOWN', `no agent identity named "${name}"`);
        }
        const { recordIdentityAction } = await import('./identity-audit.js');
        await recordIdentityAction(ctx, store, { action: 'identity.revoke', target: name });
        process.stdout.write(`revoked ${name}\n`);
      });
    });

  identity
    .command('revoke-subject')
    .description(
      'revoke an OAuth identity (token subject of an issuer); its connections close within a second',
    )
    .requiredOption('-c, --config <file>', 'connector config file')
    .requiredOption('--issuer <iss>', 'the IdP issuer identifier')
    .requiredOption('--subject <sub>', 'the token subject (sub claim)')
    .option('--reinstate', 'lift an earlier revocation instead')
    .action(async (opts: { config: string; issuer: string; subject: string; reinstate?: boolean }) => {
      const { withConnectorStore } = await import('./connector-store.js');
      await withConnectorStore(opts.config, async (ctx, store) => {
        const target = `${opts.issuer} ${opts.subject}`;
        const { recordIdentityAction } = await import('./identity-audit.js');
        if (opts.reinstate) {
          const lifted = await store.identities.reinstateSubject(opts.issuer, opts.subject);
          await store.changes.publish('identities').catch(() => undefined);
          process.stdout.write(lifted ? `reinstated ${target}\n` : `${target} was not revoked\n`);
          return;
        }
        await store.identities.revokeSubject(opts.issuer, opts.subject, Date.now());
        await store.changes.publish('identities').catch(() => undefined);
        await recordIdentityAction(ctx, store, { action: 'identity.revoke', target });
        process.stdout.write(`revoked ${target}\n`);
      });
    });
}
