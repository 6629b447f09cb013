/**
 * `airlock tools list|diff|approve|disable|enable`: the connector's tool catalog (pins, quarantine, kill
 * switch), operating on the connector's store. A running connector reads the store's catalog revision
 * on every request, so a change made here applies on its next request (and connected agents get
 * `notifications/tools/list_changed` within the connector's catalog poll interval, 1 s by default).
 */
import type { Command } from 'commander';
import type { CatalogAdmin, CatalogEntry } from '../catalog/catalog-admin.js';
import type { DriftClass } from '../catalog/drift-classify.js';

interface ConfigOption {
  config: string;
}

export function register(program: Command): void {
  const tools = program
    .command('tools')
    .description('tool catalog: pinned definitions, quarantine after changes, kill switch');
  registerList(tools);
  registerDiff(tools);
  registerApprove(tools);
  registerDisable(tools);
  registerEnable(tools);
}

/** `tools list`: every tool seen, with its state and scan findings. */
function registerList(tools: Command): void {
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
}

/** `tools diff <tool>`: the approved definition against the served one. */
function registerDiff(tools: Command): void {
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
        if (diff.drift) {
          process.stdout.write(
            `  change:   ${diff.drift.drift.toUpperCase()} (${DRIFT_TEXT[diff.drift.drift]})\n`,
          );
          for (const c of diff.drift.changes)
            process.stdout.write(`    ${c.drift.padEnd(10)} ${c.path}: ${c.message}\n`);
        }
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
}

/** `tools approve <tool>`: pins the served definition. */
function registerApprove(tools: Command): void {
  tools
    .command('approve <tool>')
    .description('approve the definition a tool is served with now (pins it; ends its quarantine)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--hash <prefix>', 'only if the served definition still has this hash (as shown by "tools diff")')
    .option('--by <name>', 'who approves (recorded)', defaultActor())
    .action(async (tool: string, opts: ConfigOption & { hash?: string; by: string }) => {
      await withAdmin(opts, async (admin, audit) => {
        const record = await admin.approve(tool, { hash: opts.hash, by: opts.by });
        await audit({ action: 'tool.approve', target: tool, detail: { hash: record.approvedHash ?? null } });
        process.stdout.write(
          `approved ${tool} at ${record.approvedHash?.slice(0, 12)} (by ${record.approvedBy})\n`,
        );
      });
    });
}

/** `tools disable <tool>`: the kill switch. */
function registerDisable(tools: Command): void {
  tools
    .command('disable <tool>')
    .description('kill switch: refuse and hide a tool for every agent from the next request on')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--reason <text>', 'why (shown to agents and recorded)', 'disabled by an administrator')
    .option('--by <name>', 'who disables (recorded)', defaultActor())
    .action(async (tool: string, opts: ConfigOption & { reason: string; by: string }) => {
      await withAdmin(opts, async (admin, audit) => {
        const known = (await admin.listCatalog()).some((e) => e.tool === tool);
        await admin.disable(tool, opts.reason, { by: opts.by });
        await audit({ action: 'tool.disable', target: tool, reason: opts.reason });
        process.stdout.write(`disabled ${tool}: ${opts.reason}\n`);
        if (!known)
          process.stderr.write(
            `note: no tool named '${tool}' has been seen yet; it is disabled in advance\n`,
          );
      });
    });
}

/** `tools enable <tool>`: the kill switch off. */
function registerEnable(tools: Command): void {
  tools
    .command('enable <tool>')
    .description('kill switch off: the tool is served again (if its definition is approved)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--by <name>', 'who enables (recorded)', defaultActor())
    .action(async (tool: string, opts: ConfigOption & { by: string }) => {
      const { AirlockError } = await import('../errors/airlock-error.js');
      await withAdmin(opts, async (admin, audit) => {
        if (!(await admin.enable(tool, { by: opts.by }))) {
          throw new AirlockError('AIRLOCK_CATALOG_NOT_DISABLED', `tool '${tool}' is not disabled`);
        }
        await audit({ action: 'tool.enable', target: tool });
        process.stdout.write(`enabled ${tool}\n`);
      });
    });
}

/** An admin action to record in the audit trail (`actor` is `cli:<--by>`). */
type AuditAction = {
  action: 'tool.approve' | 'tool.disable' | 'tool.enable';
  target: string;
  reason?: string;
  detail?: { hash: string | null };
};

async function withAdmin(
  opts: ConfigOption & { by?: string },
  fn: (admin: CatalogAdmin, audit: (a: AuditAction) => Promise<void>) => Promise<void>,
): Promise<void> {
  const { withConnectorStore } = await import('./connector-store.js');
  const { CatalogAdmin: Admin } = await import('../catalog/catalog-admin.js');
  const { recordCliAdminAction } = await import('./identity-audit.js');
  await withConnectorStore(opts.config, (ctx, store) =>
    // onChange: running connectors (every member of a pair) apply the change at once.
    fn(new Admin({ store: store.catalog, actor: opts.by, onChange: () => announce(store) }), (a) =>
      recordCliAdminAction(ctx, store, { ...a, ...(opts.by ? { actor: `cli:${opts.by}` } : {}) }),
    ),
  );
}

async function announce(store: import('../store/store.js').Store): Promise<void> {
  const { announceChange } = await import('../connector/pair/pair-changes.js');
  await announceChange(store, 'catalog');
}

function defaultActor(): string {
  return process.env.USER ?? process.env.USERNAME ?? 'admin';
}

function formatEntry(e: CatalogEntry): string {
  const status = e.status === 'disabled' ? `disabled (${e.disabled?.reason ?? ''})` : STATUS_TEXT[e.status];
  const hash = (e.observedHash ?? '').slice(0, 12).padEnd(12);
  const scan = e.findings.length === 0 ? '' : `  scan: ${e.findings.length} finding(s), worst ${e.severity}`;
  const drift = e.drift ? `  change: ${e.drift}` : '';
  return `${e.tool.padEnd(32)} ${hash}  ${status}${drift}${scan}`;
}

const STATUS_TEXT: Record<Exclude<CatalogEntry['status'], 'disabled'>, string> = {
  approved: 'approved',
  unreviewed: 'new: hidden until approved (airlock tools diff / approve)',
  changed: 'QUARANTINED: definition changed since approval (airlock tools diff / approve)',
  poisoning: 'QUARANTINED: flagged by the poisoning scan (airlock tools diff / approve)',
};

const DRIFT_TEXT: Record<DriftClass, string> = {
  cosmetic: 'description, title or annotations only; still review: descriptions steer models',
  compatible: 'the schema still accepts what existing callers send',
  breaking: 'removed or newly required properties, narrowed types or values: existing callers may fail',
};
