/**
 * `airlock approvals list|show|approve|deny` (and the break-glass `override`, `confirm-override`,
 * `overrides`: approvals-override-command.ts): the human approval queue from the command line, on the
 * connector's store. A decision made here reaches an agent's call that the running connector is
 * holding: held calls re-read their request from the store every 250 ms (`pollIntervalMs`), and a
 * call that is no longer held runs on the agent's retry.
 *
 * Who acts: `--as <account>` names an enabled console account (admin or supervisor) that must exist
 * under exactly that name; without it the command acts as the local admin principal
 * `local:<uid>@<host>` taken from the operating system. Arguments are sealed at rest with the tenant's
 * vault key and shown masked unless `--reveal`; every reveal is written to the audit trail first.
 */
import type { Command } from 'commander';
import { maskApprovalArguments } from '../approvals/approval-arguments-mask.js';
import type { Approver } from '../approvals/approval-principal.js';
import type { ApprovalQueue } from '../approvals/approval-queue.js';
import type { ConnectorContext } from '../connector/connector-context.js';
import type { ApprovalRecord, Store } from '../store/store.js';
import { registerOverrideCommands } from './approvals-override-command.js';
import { commandGroup, connectorSubcommand } from './connector-subcommand.js';

interface DecideOptions {
  config: string;
  reason?: string;
  as?: string;
  json?: boolean;
}

interface ReadOptions {
  config: string;
  as?: string;
  reveal?: boolean;
}

const AS_HELP = 'act as this console account (must exist and be enabled; default: local:<uid>@<host>)';
const REVEAL_HELP = 'show argument values unmasked (written to the audit trail)';

export function register(program: Command): void {
  const approvals = commandGroup(
    program,
    'approvals',
    'list, approve and deny tool calls waiting for a human (the approval queue)',
  );

  connectorSubcommand(approvals, 'list', 'list pending approval requests (newest first), arguments masked')
    .option('--all', 'include decided and expired requests')
    .option('--limit <n>', 'most requests listed', (v) => Number.parseInt(v, 10), 100)
    .option('--reveal', REVEAL_HELP)
    .option('--as <account>', AS_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: ReadOptions & { all?: boolean; limit: number; json?: boolean }) => {
      await withQueue(opts.config, async ({ queue, reveal }) => {
        const rows = opts.all ? await queue.list({ limit: opts.limit }) : await queue.pending(opts.limit);
        if (opts.reveal && rows.length > 0) await reveal(opts.as, rows);
        const view = (r: ApprovalRecord) => ({ ...publicView(r), arguments: shownArguments(r, opts.reveal) });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows.map(view))}\n`);
          return;
        }
        if (rows.length === 0) {
          process.stdout.write(
            opts.all ? 'no approval requests yet\n' : 'no calls are waiting for approval\n',
          );
          return;
        }
        for (const r of rows) {
          process.stdout.write(
            `${r.id}\t${r.status}${quorumProgress(r)}\t${r.identity}\t${r.tool}\trequested ${iso(r.createdAt)}\texpires ${iso(r.expiresAt)}${r.decidedBy ? `\tby ${r.decidedBy}` : ''}${r.reason ? `\t${JSON.stringify(r.reason)}` : ''}\t${JSON.stringify(view(r).arguments)}\n`,
          );
        }
      });
    });

  connectorSubcommand(approvals, 'show <id>', 'show one request with its arguments (masked unless --reveal)')
    .option('--reveal', REVEAL_HELP)
    .option('--as <account>', AS_HELP)
    .action(async (id: string, opts: ReadOptions) => {
      const { ApprovalError, APPROVAL_ERROR_CODES } = await import('../approvals/approval-error.js');
      await withQueue(opts.config, async ({ queue, reveal }) => {
        const r = await queue.get(id);
        if (!r) throw new ApprovalError(APPROVAL_ERROR_CODES.unknown, `no approval request with id ${id}`);
        if (opts.reveal) await reveal(opts.as, [r]);
        const shown = { ...publicView(r), arguments: shownArguments(r, opts.reveal) };
        process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      });
    });

  connectorSubcommand(
    approvals,
    'approve <id>',
    'approve a pending request: the held call (or its retry) runs exactly once',
  )
    .option('-r, --reason <text>', 'a note recorded with the approval')
    .option('--as <account>', AS_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: DecideOptions) => decide('approve', id, opts));

  connectorSubcommand(approvals, 'deny <id>', 'deny a pending request; the agent is told the reason')
    .requiredOption('-r, --reason <text>', 'why (the agent and its model are told)')
    .option('--as <account>', AS_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: DecideOptions) => decide('deny', id, opts));

  registerOverrideCommands(approvals, withQueue);
}

async function decide(action: 'approve' | 'deny', id: string, opts: DecideOptions): Promise<void> {
  await withQueue(opts.config, async ({ queue, approver }) => {
    const who = await approver(opts.as);
    const r =
      action === 'approve'
        ? await queue.approve(id, who, opts.reason)
        : await queue.deny(id, who, opts.reason ?? '');
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(publicView(r))}\n`);
      return;
    }
    if (r.status === 'pending') {
      process.stdout.write(
        `recorded ${who.id}'s approval of ${r.id}:${quorumProgress(r)}; more approvals are needed before the call runs\n`,
      );
      return;
    }
    process.stdout.write(
      action === 'approve'
        ? `approved ${r.id} (${r.identity} → ${r.tool}) as ${who.id}: the held call, or its retry, runs once\n`
        : `denied ${r.id} (${r.identity} → ${r.tool}) as ${who.id}: the agent is told "${r.reason ?? ''}"\n`,
    );
  });
}

/** ` 1/2 (console:alice)` for a request with a quorum: approvals so far of those needed, and by whom. */
function quorumProgress(r: ApprovalRecord): string {
  if (!r.quorum) return '';
  const by = (r.votes ?? []).filter((v) => v.decision === 'approved').map((v) => v.principal);
  return ` ${by.length}/${r.quorum.count}${by.length ? ` (${by.join(', ')})` : ''}`;
}

export interface QueueScope {
  queue: ApprovalQueue;
  /** The acting principal (see the module comment). */
  approver(as: string | undefined): Promise<Approver>;
  /** Audits a reveal of these requests' arguments (before anything is printed). */
  reveal(as: string | undefined, rows: readonly ApprovalRecord[]): Promise<void>;
}

/** Runs `fn` with the approval queue on the connector's store (CLI audit appender, tenant vault key). */
export async function withQueue(configFile: string, fn: (scope: QueueScope) => Promise<void>): Promise<void> {
  const { withConnectorStore } = await import('./connector-store.js');
  const { ApprovalQueue } = await import('../approvals/approval-queue.js');
  const { cliApprover } = await import('../approvals/approval-principal.js');
  await withConnectorStore(configFile, async (ctx, store) => {
    const argumentsKey = await approvalArgumentsKey(ctx);
    const { cliAuditAppender } = await import('./identity-audit.js');
    const queue = new ApprovalQueue({
      repository: store.approvals,
      sweepIntervalMs: 0,
      audit: cliAuditAppender(ctx, store),
      ...(argumentsKey ? { argumentsKey } : {}),
    });
    const approver = (as: string | undefined) => cliApprover(store.adminAccounts, as);
    const reveal = async (as: string | undefined, rows: readonly ApprovalRecord[]) =>
      auditReveal(ctx, store, await approver(as), rows);
    // Decisions are announced so that the member holding the call (a pair) continues it at once.
    const decided = new Set<string>();
    queue.on('change', (c) => {
      if (c.approval && c.type !== 'created' && c.type !== 'delivered') decided.add(c.approval.id);
    });
    try {
      await fn({ queue, approver, reveal });
      const { announceChange } = await import('../connector/pair/pair-changes.js');
      for (const id of decided) await announceChange(store, 'approvals', { id });
    } finally {
      await queue.close();
    }
  });
}

/**
 * The tenant's vault key, from the key file the connector creates (`<dataDir>/pii/vault-key.json`,
 * see src/connector/connector-governance.ts); undefined before the connector ever ran.
 */
async function approvalArgumentsKey(ctx: ConnectorContext) {
  const { access } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { loadTenantPiiKeys } = await import('../pii/tenant-pii-keys.js');
  const path = join(ctx.dataDir, 'pii', 'vault-key.json');
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (!exists) return undefined;
  const tenantHost = ctx.tenantHost ?? '';
  const tenant = ctx.credential?.tenant ?? tenantHost.split('.')[0] ?? tenantHost;
  const keys = await loadTenantPiiKeys({ path, tenant });
  return { tenant, key: keys.vaultKey };
}

/** One `pii.reveal` admin entry per command, durable before the values are printed (fail closed). */
async function auditReveal(
  ctx: ConnectorContext,
  store: Store,
  who: Approver,
  rows: readonly ApprovalRecord[],
): Promise<void> {
  const { cliAuditAppender } = await import('./identity-audit.js');
  await cliAuditAppender(ctx, store).append({
    kind: 'admin',
    action: 'pii.reveal',
    actor: who.id,
    target: rows.length === 1 ? (rows[0]?.id ?? null) : `${rows.length} approvals`,
    detail: { what: 'approval arguments', via: 'cli', approvals: rows.map((r) => r.id) },
  });
}

function shownArguments(r: ApprovalRecord, reveal: boolean | undefined): unknown {
  if (reveal) {
    try {
      return JSON.parse(r.arguments) as unknown;
    } catch {
      return r.arguments;
    }
  }
  return maskApprovalArguments(r.arguments);
}

function publicView(r: ApprovalRecord): Omit<ApprovalRecord, 'arguments'> {
  const { arguments: _args, ...rest } = r;
  return rest;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
