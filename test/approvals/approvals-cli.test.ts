/**
 * `airlock approvals …` and `airlock console …` on a connector config and its SQLite store: accounts
 * are created with a hashed password, and a decision made by the CLI (its own store connection)
 * reaches a call the "connector" (another connection on the same database) is holding.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APPROVAL_ERROR_CODES } from '../../src/approvals/approval-error.js';
import { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import { hashPassword, verifyPassword } from '../../src/console/password-hash.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { loadTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';
import { requestApproval } from './approval-request.js';

let dir: string;
let config: string;
let store: Store;
let queue: ApprovalQueue;

const ENTRY = new URL('./cli-entry.js', import.meta.url).pathname;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command as its own process (its own store connection). */
function run(...args: string[]): Promise<CliResult> {
  return runWithInput('', ...args);
}

function runWithInput(input: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [ENTRY, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** Runs a command that must succeed; returns its standard output. */
async function cli(...args: string[]): Promise<string> {
  const r = await run(...args);
  assert.equal(r.code, 0, `airlock ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs a command that must fail with `code` in its error line. */
async function cliFails(code: string | RegExp, ...args: string[]): Promise<void> {
  const r = await run(...args);
  assert.notEqual(r.code, 0, `airlock ${args.join(' ')} should fail`);
  assert.match(r.stderr, typeof code === 'string' ? new RegExp(`\\[${code}\\]`) : code);
}

const held = (args: Record<string, unknown>) => requestApproval(queue, args);

/** The pending request of the held call with these arguments. */
function pendingFor(args: Record<string, unknown>) {
  const hash = sha256Canonical(args);
  return until('the pending request', async () => (await queue.pending()).find((p) => p.argsHash === hash));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-approvals-cli-'));
  config = join(dir, 'connector.yaml');
  await writeFile(
    config,
    'dataDir: ./data\ntenantHost: acme.localhost\nupstreams:\n  erp:\n    command: node\n',
  );
  store = await openStore({ url: `sqlite:${join(dir, 'data', 'airlock.db')}` });
  // The tenant vault key the connector creates; its approvals are sealed with it.
  const keys = await loadTenantPiiKeys({
    path: join(dir, 'data', 'pii', 'vault-key.json'),
    tenant: 'acme',
    create: true,
  });
  queue = new ApprovalQueue({
    repository: store.approvals,
    holdMs: 20_000,
    pollIntervalMs: 50,
    argumentsKey: { tenant: 'acme', key: keys.vaultKey },
  });
});

after(async () => {
  await queue.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('airlock console', () => {
  it('add-admin hashes the password from a file, refuses weak passwords and silent overwrites; list and disable', async () => {
    const pw = join(dir, 'pw');
    await writeFile(pw, 'a-long-enough-password\n');
    assert.match(
      await cli('console', 'add-admin', 'alice', '-c', config, '--password-file', pw, '--reveal-pii'),
      /created console account alice \(role admin, may reveal personal data\)/,
    );
    const alice = await store.adminAccounts.getAdminAccount('alice');
    assert.ok(alice?.passwordHash.startsWith('scrypt$'));
    assert.ok(alice);
    assert.ok(!alice.passwordHash.includes('a-long-enough-password'));
    assert.equal(await verifyPassword('a-long-enough-password', alice.passwordHash), true);
    await cliFails(
      'AIRLOCK_CONSOLE_ACCOUNT_EXISTS',
      'console',
      'add-admin',
      'alice',
      '-c',
      config,
      '--password-file',
      pw,
    );
    assert.match(
      await cli(
        'console',
        'add-admin',
        'alice',
        '-c',
        config,
        '--password-file',
        pw,
        '--update',
        '--role',
        'supervisor',
      ),
      /updated console account alice \(role supervisor\)/,
    );
    await writeFile(pw, 'short\n');
    await cliFails(
      'AIRLOCK_CONSOLE_PASSWORD',
      'console',
      'add-admin',
      'bob',
      '-c',
      config,
      '--password-file',
      pw,
    );
    await cliFails(
      'AIRLOCK_CONSOLE_ROLE',
      'console',
      'add-admin',
      'bob',
      '-c',
      config,
      '--password-file',
      pw,
      '--role',
      'root',
    );
    const listed = JSON.parse(await cli('console', 'list-admins', '-c', config, '--json')) as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(
      listed.map((a) => [a.name, a.role, 'passwordHash' in a]),
      [['alice', 'supervisor', false]],
    );
    assert.match(
      await cli('console', 'disable-admin', 'alice', '-c', config),
      /disabled console account alice/,
    );
    assert.ok((await store.adminAccounts.getAdminAccount('alice'))?.disabledAt);
  });
});

describe('airlock approvals', () => {
  it('lists masked requests; approves as a verified console account; self and look-alike approvals are refused', async () => {
    await seedAccounts();
    assert.match(await cli('approvals', 'list', '-c', config), /no calls are waiting for approval/);
    const args = { amount: 250, claim: 'C-17', customer: 'Ada Lovelace-RAW-CANARY' };
    const call = held(args);
    const pending = await pendingFor(args);
    await assertListedMasked(pending.id);
    // The look-alike attack: U+2011 NON-BREAKING HYPHEN instead of '-'. No such account exists (and none
    // can be made: account names are ASCII), so nothing is approved.
    for (const name of ['claims\u2011bot', 'CLAIMS-BOT', 'nobody']) {
      await cliFails(APPROVAL_ERROR_CODES.principalUnknown, ...approveAs(pending.id, name));
    }
    // A console account named like the requesting agent is still the requester for separation of duties.
    await cliFails(APPROVAL_ERROR_CODES.selfApproval, ...approveAs(pending.id, 'claims-bot'));
    assert.equal((await queue.get(pending.id))?.status, 'pending');
    assert.match(
      await cli(...approveAs(pending.id, 'bob'), '--reason', 'checked'),
      /approved apr_\w+ \(claims-bot → erp\.refund\) as console:bob/,
    );
    // The held call gets it, or (when the CLI runs took longer than the hold time) its retry does.
    const first = await call;
    const outcome = first.decision === 'approved' ? first : await held(args);
    assert.deepEqual(outcome, { decision: 'approved', approvalId: pending.id, approver: 'console:bob' });
    await cliFails(APPROVAL_ERROR_CODES.decided, ...approveAs(pending.id, 'bob'));
  });
});

describe('airlock approvals: reveal and the local principal', () => {
  it('--reveal shows the values and writes a pii.reveal audit entry first', async () => {
    const args = { amount: 17, claim: 'C-19', customer: 'Grace Hopper-RAW-CANARY' };
    void held(args);
    const pending = await pendingFor(args);
    const before = await revealEntries();
    const shown = JSON.parse(
      await cli('approvals', 'show', pending.id, '-c', config, '--reveal', '--as', 'bob'),
    ) as {
      arguments: unknown;
    };
    assert.deepEqual(shown.arguments, args);
    assert.equal(await revealEntries(), before + 1);
    const entry = (await store.audit.listAuditEntries({ limit: 10_000 })).map((r) => r.entry).at(-1) ?? '';
    assert.match(entry, /"action":"pii\.reveal"/);
    assert.match(entry, /"actor":"console:bob"/);
    assert.match(entry, new RegExp(pending.id));
    assert.doesNotMatch(entry, /RAW-CANARY/, 'the audit entry names the reveal, not the values');
    await cli('approvals', 'deny', pending.id, '-c', config, '--as', 'bob', '--reason', 'tested');
  });

  it('without --as the CLI acts as the local admin principal from the OS; deny needs a reason', async () => {
    const args = { amount: 9000, claim: 'C-18' };
    const call = held(args);
    const pending = await pendingFor(args);
    await cliFails(/required option '-r, --reason <text>'/, 'approvals', 'deny', pending.id, '-c', config);
    const local = `local:${process.getuid?.() ?? userInfo().uid}@${hostname()}`;
    assert.match(
      await cli('approvals', 'deny', pending.id, '-c', config, '--reason', 'over the limit'),
      new RegExp(
        `denied .* as ${local.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the agent is told "over the limit"`,
      ),
    );
    const first = await call;
    assert.deepEqual(first.decision === 'denied' ? first : await held(args), {
      decision: 'denied',
      approvalId: pending.id,
      approver: local,
      reason: 'over the limit',
    });
  });
});

/** How many `pii.reveal` admin entries the trail holds. */
async function revealEntries(): Promise<number> {
  const rows = await store.audit.listAuditEntries({ limit: 10_000 });
  return rows.filter((r) => r.entry.includes('"pii.reveal"')).length;
}

/** `airlock approvals approve <id> --as <name>` on the test config. */
function approveAs(id: string, name: string): string[] {
  return ['approvals', 'approve', id, '-c', config, '--as', name];
}

/** Console accounts `bob` and `claims-bot` (named like the agent); no look-alike name can be made. */
async function seedAccounts(): Promise<void> {
  for (const [name, password] of [
    ['bob', 'bob-password-1234'],
    ['claims-bot', 'selfish-password-1'],
  ] as const) {
    await store.adminAccounts.putAdminAccount(
      { name, passwordHash: await hashPassword(password), role: 'supervisor', revealPii: false },
      Date.now(),
    );
  }
  // No console account can be made under a look-alike name.
  await assert.rejects(
    store.adminAccounts.putAdminAccount(
      { name: 'claims\u2011bot', passwordHash: 'scrypt$x', role: 'supervisor', revealPii: false },
      Date.now(),
    ),
    /AIRLOCK_STORE_ACCOUNT_NAME|invalid console account name/,
  );
}

/** `approvals list` (JSON and text) and `approvals show` name request `id` with its arguments masked. */
async function assertListedMasked(id: string): Promise<void> {
  const listed = JSON.parse(await cli('approvals', 'list', '-c', config, '--json')) as Array<
    Record<string, unknown>
  >;
  assert.equal(listed[0]?.id, id);
  assert.equal(listed[0]?.tool, 'erp.refund');
  assert.deepEqual(listed[0]?.arguments, {
    amount: '[masked number]',
    claim: '[masked: 4 chars]',
    customer: '[masked: 23 chars]',
  });
  const text = await cli('approvals', 'list', '-c', config);
  assert.match(text, new RegExp(`${id}\\tpending\\tclaims-bot\\terp\\.refund`));
  assert.doesNotMatch(text, /RAW-CANARY|C-17/);
  const shown = await cli('approvals', 'show', id, '-c', config);
  assert.doesNotMatch(shown, /RAW-CANARY|C-17/, 'show masks unless --reveal');
  assert.equal(await revealEntries(), 0, 'masked output is not a reveal');
}
