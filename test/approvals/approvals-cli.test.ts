/**
 * `airlock approvals …` and `airlock console …` on a connector config and its SQLite store: accounts
 * are created with a hashed password, and a decision made by the CLI (its own store connection)
 * reaches a call the "connector" (another connection on the same database) is holding.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APPROVAL_ERROR_CODES } from '../../src/approvals/approval-error.js';
import { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import { sha256Canonical } from '../../src/audit/canonical-json.js';
import { verifyPassword } from '../../src/console/password-hash.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

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

function held(args: Record<string, unknown>) {
  return queue.request({
    identity: {
      name: 'claims-bot',
      spiffeId: 'spiffe://acme.localhost/agent/claims-bot',
      certSerial: '01',
      authenticatedBy: 'mtls',
    },
    tool: 'erp.refund',
    arguments: args,
    argsHash: sha256Canonical(args),
    sessionId: undefined,
    signal: new AbortController().signal,
    sendProgress: async () => {},
  });
}

/** The pending request of the held call with these arguments. */
async function pendingFor(args: Record<string, unknown>) {
  const hash = sha256Canonical(args);
  for (let i = 0; i < 200; i++) {
    const found = (await queue.pending()).find((p) => p.argsHash === hash);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no pending request appeared');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-approvals-cli-'));
  config = join(dir, 'connector.yaml');
  await writeFile(
    config,
    'dataDir: ./data\ntenantHost: acme.localhost\nupstreams:\n  erp:\n    command: node\n',
  );
  store = await openStore({ url: `sqlite:${join(dir, 'data', 'airlock.db')}` });
  queue = new ApprovalQueue({ repository: store.approvals, holdMs: 20_000, pollIntervalMs: 50 });
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
  it('lists pending requests; an approval from the CLI reaches the held call; self-approval is refused', async () => {
    assert.match(await cli('approvals', 'list', '-c', config), /no calls are waiting for approval/);
    const args = { amount: 250, claim: 'C-17' };
    const call = held(args);
    const pending = await pendingFor(args);
    const listed = JSON.parse(await cli('approvals', 'list', '-c', config, '--json')) as Array<
      Record<string, unknown>
    >;
    assert.equal(listed[0]?.id, pending.id);
    assert.equal(listed[0]?.tool, 'erp.refund');
    assert.equal('arguments' in (listed[0] ?? {}), false, 'list does not print arguments');
    assert.match(
      await cli('approvals', 'list', '-c', config),
      new RegExp(`${pending.id}\\tpending\\tclaims-bot\\terp\\.refund`),
    );
    const shown = JSON.parse(await cli('approvals', 'show', pending.id, '-c', config)) as {
      arguments: unknown;
    };
    assert.deepEqual(shown.arguments, { amount: 250, claim: 'C-17' });
    await cliFails(
      APPROVAL_ERROR_CODES.selfApproval,
      'approvals',
      'approve',
      pending.id,
      '-c',
      config,
      '--as',
      'claims-bot',
    );
    assert.match(
      await cli('approvals', 'approve', pending.id, '-c', config, '--as', 'bob', '--reason', 'checked'),
      /approved apr_\w+ \(claims-bot → erp\.refund\) as bob/,
    );
    assert.deepEqual(await call, { decision: 'approved', approvalId: pending.id, approver: 'bob' });
    await cliFails(
      APPROVAL_ERROR_CODES.decided,
      'approvals',
      'approve',
      pending.id,
      '-c',
      config,
      '--as',
      'bob',
    );
  });

  it('deny needs a reason, which the held call receives', async () => {
    const args = { amount: 9000, claim: 'C-18' };
    const call = held(args);
    const pending = await pendingFor(args);
    await cliFails(
      /required option '-r, --reason <text>'/,
      'approvals',
      'deny',
      pending.id,
      '-c',
      config,
      '--as',
      'bob',
    );
    assert.match(
      await cli('approvals', 'deny', pending.id, '-c', config, '--as', 'bob', '--reason', 'over the limit'),
      /denied .* the agent is told "over the limit"/,
    );
    assert.deepEqual(await call, {
      decision: 'denied',
      approvalId: pending.id,
      approver: 'bob',
      reason: 'over the limit',
    });
    const all = JSON.parse(await cli('approvals', 'list', '-c', config, '--all', '--json')) as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(
      all.map((a) => [a.status, a.decidedBy]),
      [
        ['denied', 'bob'],
        ['approved', 'bob'],
      ],
    );
  });
});
