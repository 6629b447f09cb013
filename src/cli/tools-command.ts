/**
 * `airlock tools list|diff|approve|disable|enable`: the connector's tool catalog (pins, quarantine, kill
 * switch), operating on the connector's store. A running connector reads the store's catalog revision
 * on every request, so a change made here applies on its next request (and connected agents get
 * `notifications/tools/list_changed` within the connector's catalog poll interval, 1 s by default).
 */
import type { Command } from 'commander';
import type { CatalogAdmin, CatalogEntry } from '../catalog/catalog-admin.js';

interface ConfigOption {
  config: string;
}

export function register(program: Command): void {
  const tools = program
    .command('tools')
    .description('tool catalog: pinned definitions, quarantine after changes, kill switch');

  tools
    .command('list')
    .description('list every tool the connector has seen, with its state and scan findings')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--json', 'print JSON')
    .action(async (opts: ConfigOption & { json?: boolean }) => {
      await withAdmin(opts, async (admin) => {
        const entries = await admin.listCatalog();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(entries)}\n`);
          return;
        }
        if (entries.length === 0) {
          process.stdout.write('no tools seen yet: start the connector so it can list its upstreams\n');
          return;
        }
        for (const e of entries) process.stdout.write(`${formatEntry(e)}\n`);
      });
    });

  tools
    .command('diff <tool>')
    .description('show the approved definition of a tool against the one its upstream serves now')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--json', 'print JSON')
    .action(async (tool: string, opts: ConfigOption & { json?: boolean }) => {
      await withAdmin(opts, async (admin) => {
        const diff = await admin.diff(tool);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(diff)}\n`);
          return;
        }
        process.stdout.write(
          `${tool}: ${diff.state}\n  approved: ${diff.approvedHash ?? '(never)'}\n  served:   ${diff.observedHash}\n`,
        );
        for (const f of diff.findings) {
          process.stdout.write(
            `  scan ${f.severity.padEnd(6)} ${f.rule} at ${f.where}: ${f.message} — ${f.excerpt}\n`,
          );
        }
        process.stdout.write(
          diff.changed ? `\n${diff.patch}` : '\nno difference: the served definition is the approved one\n',
        );
        if (diff.changed) {
          process.stdout.write(
            `\napprove with: airlock tools approve ${tool} --hash ${diff.observedHash.slice(0, 12)} --config ${opts.config}\n`,
          );
        }
      });
    });

  tools
    .command('approve <tool>')
    .description('approve the definition a tool is served with now (pins it; ends its quarantine)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--hash <prefix>', 'only if the served definition still has this hash (as shown by "tools diff")')
    .option('--by <name>', 'who approves (recorded)', defaultActor())
    .action(async (tool: string, opts: ConfigOption & { hash?: string; by: string }) => {
      await withAdmin(opts, async (admin) => {
        const record = await admin.approve(tool, { hash: opts.hash, by: opts.by });
        process.stdout.write(
          `approved ${tool} at ${record.approvedHash?.slice(0, 12)} (by ${record.approvedBy})\n`,
        );
      });
    });

  tools
    .command('disable <tool>')
    .description('kill switch: refuse and hide a tool for every agent from the next request on')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--reason <text>', 'why (shown to agents and recorded)', 'disabled by an administrator')
    .option('--by <name>', 'who disables (recorded)', defaultActor())
    .action(async (tool: string, opts: ConfigOption & { reason: string; by: string }) => {
      await withAdmin(opts, async (admin) => {
        const known = (await admin.listCatalog()).some((e) => e.tool === tool);
        await admin.disable(tool, opts.reason, { by: opts.by });
        process.stdout.write(`disabled ${tool}: ${opts.reason}\n`);
        if (!known)
          process.stderr.write(
            `note: no tool named '${tool}' has been seen yet; it is disabled in advance\n`,
          );
      });
    });

  tools
    .command('enable <tool>')
    .description('kill switch off: the tool is served again (if its definition is approved)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--by <name>', 'who enables (recorded)', defaultActor())
    .action(async (tool: string, opts: ConfigOption & { by: string }) => {
      const { AirlockError } = await import('../errors/airlock-error.js');
      await withAdmin(opts, async (admin) => {
        if (!(await admin.enable(tool, { by: opts.by }))) {
          throw new AirlockError('AIRLOCK_CATALOG_NOT_DISABLED', `tool '${tool}' is not disabled`);
        }
        process.stdout.write(`enabled ${tool}\n`);
      });
    });
}

async function withAdmin(
  opts: ConfigOption & { by?: string },
  fn: (admin: CatalogAdmin) => Promise<void>,
): Promise<void> {
  const { withConnectorStore } = await import('./connector-store.js');
  const { CatalogAdmin: Admin } = await import('../catalog/catalog-admin.js');
  await withConnectorStore(opts.config, (_ctx, store) =>
    fn(new Admin({ store: store.catalog, actor: opts.by })),
  );
}

function defaultActor(): string {
  return process.env.USER ?? process.env.USERNAME ?? 'admin';
}

function formatEntry(e: CatalogEntry): string {
  const status = e.status === 'disabled' ? `disabled (${e.disabled?.reason ?? ''})` : STATUS_TEXT[e.status];
  const hash = (e.observedHash ?? '').slice(0, 12).padEnd(12);
  const scan = e.findings.length === 0 ? '' : `  scan: ${e.findings.length} finding(s), worst ${e.severity}`;
  return `${e.tool.padEnd(32)} ${hash}  ${status}${scan}`;
}

const STATUS_TEXT: Record<Exclude<CatalogEntry['status'], 'disabled'>, string> = {
  approved: 'approved',
  unreviewed: 'new: hidden until approved (airlock tools diff / approve)',
  changed: 'QUARANTINED: definition changed since approval (airlock tools diff / approve)',
  poisoning: 'QUARANTINED: flagged by the poisoning scan (airlock tools diff / approve)',
};
