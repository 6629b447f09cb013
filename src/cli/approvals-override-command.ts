/**
 * `airlock approvals override|confirm-override|overrides`: break-glass for the `block` tier from the
 * command line (see src/approvals/block-overrides.ts). One admin asks to allow one exact call (agent
 * identity + tool + arguments) with a reason; a SECOND admin confirms it; the first matching call
 * runs once, within the lifetime (default 15 minutes). Each step is written to the audit trail.
 *
 * @example
 * airlock approvals override -c connector.yaml --identity ops-bot --tool erp.purge_customer \
 *   --args '{"id":"c-7"}' --reason "INC-42: GDPR erasure" --as alice
 * airlock approvals confirm-override ovr_… -c connector.yaml --as bob
 */
import type { Command } from 'commander';
import { maskApprovalArguments } from '../approvals/approval-arguments-mask.js';
import type { QueueScope } from './approvals-command.js';

type WithQueue = (configFile: string, fn: (scope: QueueScope) => Promise<void>) => Promise<void>;

interface OverrideOptions {
  config: string;
  tool: string;
  identity: string;
  args?: string;
  argsFile?: string;
  reason: string;
  as?: string;
  expiresIn?: number;
  json?: boolean;
}

const AS_HELP = 'act as this console admin account (default: the local admin principal local:<uid>@<host>)';

/** Adds the override sub-commands to `airlock approvals`. */
export function registerOverrideCommands(approvals: Command, withQueue: WithQueue): void {
  approvals
    .command('override')
    .description('break-glass: allow ONE exact blocked call; usable once a second admin confirms it')
    .requiredOption('-c, --config <file>', 'connector config file')
    .requiredOption('--tool <name>', 'namespaced tool name, e.g. erp.purge_customer')
    .requiredOption('--identity <name>', 'the agent identity whose call is allowed')
    .option('--args <json>', 'the exact arguments as a JSON object')
    .option('--args-file <file>', 'read the exact arguments (a JSON object) from this file')
    .requiredOption('-r, --reason <text>', 'why (audited)')
    .option('--expires-in <minutes>', 'lifetime in minutes (default 15, at most 1440)', Number)
    .option('--as <account>', AS_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: OverrideOptions) => {
      const args = await readArguments(opts);
      await withQueue(opts.config, async ({ queue, approver }) => {
        const admin = await approver(opts.as);
        const o = await queue.overrides.request(
          {
            identity: opts.identity,
            tool: opts.tool,
            arguments: args,
            reason: opts.reason,
            ...(opts.expiresIn !== undefined ? { ttlMs: Math.round(opts.expiresIn * 60_000) } : {}),
          },
          admin,
        );
        if (opts.json) return print({ ...o, arguments: undefined });
        process.stdout.write(
          `override ${o.id} requested by ${admin.id} for ${o.identity} → ${o.tool} (arguments ${o.argsHash.slice(0, 16)}…), expires ${iso(o.expiresAt)}; another admin must run: airlock approvals confirm-override ${o.id}\n`,
        );
      });
    });

  approvals
    .command('confirm-override <id>')
    .description('confirm a break-glass override as a SECOND admin (not the one who requested it)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('-r, --reason <text>', 'a note recorded with the confirmation')
    .option('--as <account>', AS_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { config: string; reason?: string; as?: string; json?: boolean }) => {
      await withQueue(opts.config, async ({ queue, approver }) => {
        const admin = await approver(opts.as);
        const o = await queue.overrides.confirm(id, admin, opts.reason);
        if (opts.json) return print({ ...o, arguments: undefined });
        process.stdout.write(
          `override ${o.id} confirmed by ${admin.id}: the next call ${o.identity} → ${o.tool} with exactly those arguments runs once, until ${iso(o.expiresAt)}\n`,
        );
      });
    });

  approvals
    .command('overrides')
    .description('list break-glass overrides (newest first), arguments masked')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--limit <n>', 'most overrides listed', (v) => Number.parseInt(v, 10), 50)
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; limit: number; json?: boolean }) => {
      await withQueue(opts.config, async ({ queue }) => {
        const rows = (await queue.overrides.list(opts.limit)).map((o) => ({
          ...o,
          arguments: maskApprovalArguments(o.arguments),
        }));
        if (opts.json) return print(rows);
        if (rows.length === 0) process.stdout.write('no overrides\n');
        for (const o of rows) {
          const state = o.consumedAt ? 'used' : o.confirmedBy ? 'confirmed' : 'unconfirmed';
          process.stdout.write(
            `${o.id}\t${state}\t${o.identity}\t${o.tool}\tby ${o.requestedBy}${o.confirmedBy ? ` + ${o.confirmedBy}` : ''}\texpires ${iso(o.expiresAt)}\t${JSON.stringify(o.reason)}\t${JSON.stringify(o.arguments)}\n`,
          );
        }
      });
    });
}

/** The `--args` / `--args-file` JSON object. Throws `ApprovalError` `AIRLOCK_APPROVAL_OVERRIDE_INVALID`. */
async function readArguments(opts: OverrideOptions): Promise<Record<string, unknown>> {
  const { ApprovalError, APPROVAL_ERROR_CODES } = await import('../approvals/approval-error.js');
  const invalid = (why: string) => new ApprovalError(APPROVAL_ERROR_CODES.overrideInvalid, why);
  if ((opts.args === undefined) === (opts.argsFile === undefined)) {
    throw invalid('give the exact arguments with either --args <json> or --args-file <file>');
  }
  let text = opts.args ?? '';
  if (opts.argsFile !== undefined) {
    const { readFile } = await import('node:fs/promises');
    text = await readFile(opts.argsFile, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(`the arguments are not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('the arguments must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
