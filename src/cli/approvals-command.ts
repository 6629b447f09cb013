/**
 * `airlock approvals list|show|approve|deny`: the human approval queue from the command line, on the
 * connector's store. A decision made here reaches an agent's call that the running connector is
 * holding: held calls re-read their request from the store every 250 ms (`pollIntervalMs`), and a
 * call that is no longer held runs on the agent's retry.
 */
import type { Command } from 'commander';
import type { ApprovalRecord } from '../store/store.js';

interface DecideOptions {
  config: string;
  reason?: string;
  as?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const approvals = program
    .command('approvals')
    .description('list, approve and deny tool calls waiting for a human (the approval queue)');

  approvals
    .command('list')
    .description('list pending approval requests (newest first)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--all', 'include decided and expired requests')
    .option('--limit <n>', 'most requests listed', (v) => Number.parseInt(v, 10), 100)
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; all?: boolean; limit: number; json?: boolean }) => {
      await withQueue(opts.config, async (queue) => {
        const rows = opts.all ? await queue.list({ limit: opts.limit }) : await queue.pending(opts.limit);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows.map(publicView))}\n`);
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
            `${r.id}\t${r.status}\t${r.identity}\t${r.tool}\trequested ${iso(r.createdAt)}\texpires ${iso(r.expiresAt)}${r.decidedBy ? `\tby ${r.decidedBy}` : ''}${r.reason ? `\t${JSON.stringify(r.reason)}` : ''}\n`,
          );
        }
      });
    });

  approvals
    .command('show <id>')
    .description('show one request with its arguments (they may contain personal data)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .action(async (id: string, opts: { config: string }) => {
      const { ApprovalError, APPROVAL_ERROR_CODES } = await import('../approvals/approval-error.js');
      await withQueue(opts.config, async (queue) => {
        const r = await queue.get(id);
        if (!r) throw new ApprovalError(APPROVAL_ERROR_CODES.unknown, `no approval request with id ${id}`);
        process.stdout.write(
          `${JSON.stringify({ ...publicView(r), arguments: JSON.parse(r.arguments) }, null, 2)}\n`,
        );
      });
    });

  approvals
    .command('approve <id>')
    .description('approve a pending request: the held call (or its retry) runs exactly once')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('-r, --reason <text>', 'a note recorded with the approval')
    .option('--as <name>', 'approver name recorded (default: your OS user name)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: DecideOptions) => decide('approve', id, opts));

  approvals
    .command('deny <id>')
    .description('deny a pending request; the agent is told the reason')
    .requiredOption('-c, --config <file>', 'connector config file')
    .requiredOption('-r, --reason <text>', 'why (the agent and its model are told)')
    .option('--as <name>', 'approver name recorded (default: your OS user name)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: DecideOptions) => decide('deny', id, opts));
}

async function decide(action: 'approve' | 'deny', id: string, opts: DecideOptions): Promise<void> {
  const { userInfo } = await import('node:os');
  const name = opts.as ?? userInfo().username;
  await withQueue(opts.config, async (queue) => {
    const approver = { name, via: 'cli' };
    const r =
      action === 'approve'
        ? await queue.approve(id, approver, opts.reason)
        : await queue.deny(id, approver, opts.reason ?? '');
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(publicView(r))}\n`);
      return;
    }
    process.stdout.write(
      action === 'approve'
        ? `approved ${r.id} (${r.identity} → ${r.tool}) as ${name}: the held call, or its retry, runs once\n`
        : `denied ${r.id} (${r.identity} → ${r.tool}) as ${name}: the agent is told "${r.reason ?? ''}"\n`,
    );
  });
}

async function withQueue(
  configFile: string,
  fn: (queue: import('../approvals/approval-queue.js').ApprovalQueue) => Promise<void>,
): Promise<void> {
  const { withConnectorStore } = await import('./connector-store.js');
  const { ApprovalQueue } = await import('../approvals/approval-queue.js');
  await withConnectorStore(configFile, async (_ctx, store) => {
    const queue = new ApprovalQueue({ repository: store.approvals, sweepIntervalMs: 0 });
    try {
      await fn(queue);
    } finally {
      await queue.close();
    }
  });
}

function publicView(r: ApprovalRecord): Omit<ApprovalRecord, 'arguments'> {
  const { arguments: _args, ...rest } = r;
  return rest;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
