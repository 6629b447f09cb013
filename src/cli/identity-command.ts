/**
 * `airlock identity issue|list|revoke|revoke-subject`: agent identities (client certificates from the
 * tenant CA, or OAuth token subjects). Issuing and revoking are recorded in the audit trail
 * (`identity.issue`, `identity.revoke`).
 */
import type { Command } from 'commander';
import { commandGroup, connectorSubcommand } from './connector-subcommand.js';

export function register(program: Command): void {
  const identity = commandGroup(
    program,
    'identity',
    'issue, list and revoke agent identities (client certificates from the tenant CA)',
  );
  connectorSubcommand(
    identity,
    'issue <name>',
    'issue a client certificate for an agent; writes cert.pem, key.pem and ca.pem',
  )
    .option('-o, --out <dir>', 'output directory (default: <dataDir>/agents/<name>)')
    .option('--days <n>', 'validity in days', (v) => Number.parseInt(v, 10), 90)
    .action(issueIdentity);
  connectorSubcommand(identity, 'list', 'list agent identities')
    .option('--json', 'print JSON')
    .action(listIdentities);
  connectorSubcommand(
    identity,
    'revoke <name>',
    'revoke every certificate of an agent; takes effect on its next request',
  ).action(revokeIdentity);
  connectorSubcommand(
    identity,
    'revoke-subject',
    'revoke an OAuth identity (token subject of an issuer); its connections close within a second',
  )
    .requiredOption('--issuer <iss>', 'the IdP issuer identifier')
    .requiredOption('--subject <sub>', 'the token subject (sub claim)')
    .option('--reinstate', 'lift an earlier revocation instead')
    .action(revokeSubject);
}

async function issueIdentity(
  name: string,
  opts: { config: string; out?: string; days: number },
): Promise<void> {
  const { withConnectorStore } = await import('./connector-store.js');
  const { ensureTenantPki, issueAgentIdentity } = await import('../identity/tenant-pki.js');
  const { requireTenantHost } = await import('../connector/connector-context.js');
  const { join } = await import('node:path');
  await withConnectorStore(opts.config, async (ctx, store) => {
    const pki = await ensureTenantPki(join(ctx.dataDir, 'tenant'), requireTenantHost(ctx));
    const outDir = opts.out ?? join(ctx.dataDir, 'agents', name);
    const issued = await issueAgentIdentity(pki, store, name, outDir, { validDays: opts.days });
    const { recordIdentityAction } = await import('./identity-audit.js');
    const { spiffeId, certSerial, notAfter } = issued.record;
    await recordIdentityAction(ctx, store, {
      action: 'identity.issue',
      target: name,
      detail: { spiffeId, certSerial, notAfter },
    });
    process.stdout.write(
      `issued ${spiffeId}\n  certificate: ${issued.certFile}\n  private key: ${issued.keyFile}\n  tenant CA:   ${issued.caFile}\n  expires:     ${new Date(notAfter).toISOString()}\n`,
    );
  });
}

async function listIdentities(opts: { config: string; json?: boolean }): Promise<void> {
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
}

async function revokeIdentity(name: string, opts: { config: string }): Promise<void> {
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
}

async function revokeSubject(opts: {
  config: string;
  issuer: string;
  subject: string;
  reinstate?: boolean;
}): Promise<void> {
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
}
