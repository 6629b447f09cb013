/**
 * `airlock console add-admin|list-admins|disable-admin`: console accounts on the connector's store.
 * The password is read from `--password-file` or from standard input (first line; on a terminal it
 * is asked for without echo). It is stored only as an scrypt hash.
 */
import type { Command } from 'commander';

const ROLES = ['admin', 'supervisor', 'auditor'] as const;

export function register(program: Command): void {
  const consoleCmd = program.command('console').description('accounts of the connector’s web console');
  registerAddAdmin(consoleCmd);
  registerListAdmins(consoleCmd);
  registerDisableAdmin(consoleCmd);
}

/** `console add-admin <name>`: creates (or with `--update` replaces) a console account. */
function registerAddAdmin(consoleCmd: Command): void {
  consoleCmd
    .command('add-admin <name>')
    .description('create a console account (password from --password-file or standard input)')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'admin')
    .option('--reveal-pii', 'may see argument values that look like personal data unmasked')
    .option('--password-file <file>', 'read the password from this file (first line)')
    .option('--update', 'replace the password, role and PII permission of an existing account')
    .action(
      async (
        name: string,
        opts: { config: string; role: string; revealPii?: boolean; passwordFile?: string; update?: boolean },
      ) => {
        const { AirlockError } = await import('../errors/airlock-error.js');
        const { hashPassword, passwordProblem } = await import('../console/password-hash.js');
        const { withConnectorStore } = await import('./connector-store.js');
        if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/.test(name)) {
          throw new AirlockError(
            'AIRLOCK_CONSOLE_ACCOUNT_NAME',
            `invalid account name ${JSON.stringify(name)}: use 1-100 characters A-Z a-z 0-9 . _ @ - starting with a letter or digit`,
          );
        }
        const role = ROLES.find((r) => r === opts.role);
        if (!role) {
          throw new AirlockError(
            'AIRLOCK_CONSOLE_ROLE',
            `unknown role "${opts.role}": use ${ROLES.join(', ')}`,
          );
        }
        const password = await readPassword(opts.passwordFile);
        const problem = passwordProblem(password);
        if (problem) throw new AirlockError('AIRLOCK_CONSOLE_PASSWORD', problem);
        await withConnectorStore(opts.config, async (ctx, store) => {
          const existing = await store.adminAccounts.getAdminAccount(name);
          if (existing && !opts.update) {
            throw new AirlockError(
              'AIRLOCK_CONSOLE_ACCOUNT_EXISTS',
              `console account "${name}" already exists: add --update to replace its password and role`,
            );
          }
          const outcome = await store.adminAccounts.putAdminAccount(
            { name, passwordHash: await hashPassword(password), role, revealPii: opts.revealPii === true },
            Date.now(),
          );
          const { recordCliAdminAction } = await import('./identity-audit.js');
          await recordCliAdminAction(ctx, store, {
            action: 'admin.add',
            target: name,
            detail: { role, revealPii: opts.revealPii === true, outcome },
          });
          process.stdout.write(
            `${outcome} console account ${name} (role ${role}${opts.revealPii ? ', may reveal personal data' : ''})\n`,
          );
        });
      },
    );
}

/** `console list-admins`: the accounts, without their password hashes. */
function registerListAdmins(consoleCmd: Command): void {
  consoleCmd
    .command('list-admins')
    .description('list console accounts')
    .requiredOption('-c, --config <file>', 'connector config file')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      const { withConnectorStore } = await import('./connector-store.js');
      await withConnectorStore(opts.config, async (_ctx, store) => {
        const accounts = (await store.adminAccounts.listAdminAccounts()).map(
          ({ passwordHash: _hash, ...rest }) => rest,
        );
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(accounts)}\n`);
          return;
        }
        if (accounts.length === 0) {
          process.stdout.write(
            'no console accounts yet: create one with "airlock console add-admin <name>"\n',
          );
          return;
        }
        for (const a of accounts) {
          process.stdout.write(
            `${a.name}\t${a.role}\t${a.revealPii ? 'reveal-pii' : 'masked'}\t${a.disabledAt ? `disabled ${new Date(a.disabledAt).toISOString()}` : 'active'}\n`,
          );
        }
      });
    });
}

/** `console disable-admin <name>`: its sessions end on their next request. */
function registerDisableAdmin(consoleCmd: Command): void {
  consoleCmd
    .command('disable-admin <name>')
    .description('disable a console account; its sessions end on their next request')
    .requiredOption('-c, --config <file>', 'connector config file')
    .action(async (name: string, opts: { config: string }) => {
      const { AirlockError } = await import('../errors/airlock-error.js');
      const { withConnectorStore } = await import('./connector-store.js');
      await withConnectorStore(opts.config, async (ctx, store) => {
        if (!(await store.adminAccounts.disableAdminAccount(name, Date.now()))) {
          throw new AirlockError('AIRLOCK_CONSOLE_ACCOUNT_UNKNOWN', `no console account named "${name}"`);
        }
        const { recordCliAdminAction } = await import('./identity-audit.js');
        await recordCliAdminAction(ctx, store, { action: 'admin.disable', target: name });
        process.stdout.write(`disabled console account ${name}\n`);
      });
    });
}

/** The first line of `file`, or of standard input (asked for without echo on a terminal). */
async function readPassword(file: string | undefined): Promise<string> {
  const firstLine = (text: string) => text.split(/\r?\n/, 1)[0] ?? '';
  if (file) {
    const { readFile } = await import('node:fs/promises');
    return firstLine(await readFile(file, 'utf8'));
  }
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write('Password: ');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    return new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            done();
            resolve(value);
            return;
          }
          if (ch === '\u0003') {
            done();
            reject(new Error('cancelled'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      const done = () => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write('\n');
      };
      stdin.on('data', onData);
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return firstLine(Buffer.concat(chunks).toString('utf8'));
}
