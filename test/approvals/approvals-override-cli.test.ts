/**
 * `airlock approvals` for two-person rules and break-glass overrides, each command its own process on
 * the connector's SQLite store (like an operator next to a running connector): votes show who
 * approved so far, repeats and ineligible roles are refused, the second admin completes the held
 * call; an override needs a second admin's confirmation and is used by exactly one call.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';

const ENTRY = new URL('./cli-entry.js', import.meta.url).pathname;
const bot: GatewayIdentity = {
  name: 'ops-bot',
  spiffeId: 'spiffe://acme.localhost/agent/ops-bot',
  certSerial: '01',
  authenticatedBy: 'mtls',
};
const LOCAL = `local:${process.getuid?.() ?? 0}@${hostname()}`;

let dir: string;
let config: string;
let store: Store;
let queue: ApprovalQueue;

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [ENTRY, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

async function cli(...args: string[]): Promise<string> {
  const r = await run(...args);
  assert.equal(r.code, 0, `airlock ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function cliFails(code: string, ...args: string[]): Promise<void> {
  const r = await run(...args);
  assert.notEqual(r.code, 0, `airlock ${args.join(' ')} should fail`);
  assert.match(r.stderr, new RegExp(`\\[${code}\\]`));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-override-cli-'));
  config = join(dir, 'connector.yaml');
  await writeFile(
    config,
    'dataDir: ./data\ntenantHost: acme.localhost\nupstreams:\n  erp:\n    command: node\n',
  );
  store = await openStore({ url: `sqlite:${join(dir, 'data', 'airlock.db')}` });
  for (const [name, role] of [
    ['alice', 'admin'],
    ['sam', 'supervisor'],
  ] as const) {
    await store.adminAccounts.putAdminAccount({ name, passwordHash: 'scrypt$x', role, revealPii: false }, 1);
  }
  // The hold outlasts any number of CLI processes on a busy machine: only a decision ends these calls.
  queue = new ApprovalQueue({ repository: store.approvals, holdMs: 600_000, pollIntervalMs: 50 });
});

after(async () => {
  await queue.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('airlock approvals: two-person rules', () => {
  it('shows who approved so far; refuses a repeat and a supervisor; the second admin completes the held call', async () => {
    const args = { amount: 25_000, to: 'acme-supplies' };
    const held = queue.request({
      identity: bot,
      tool: 'erp.transfer',
      arguments: args,
      argsHash: sha256Canonical(args),
      sessionId: undefined,
      signal: new AbortController().signal,
      sendProgress: async () => {},
      quorum: { approvers: 2, roles: ['admin'] },
    });
    const pending = await until('the pending request', async () => (await queue.pending())[0]);
    const id = pending.id;
    assert.match(
      await cli('approvals', 'approve', id, '-c', config, '--as', 'alice'),
      /recorded console:alice's approval of apr_\w+: 1\/2 \(console:alice\); more approvals are needed/,
    );
    await cliFails(
      'AIRLOCK_APPROVAL_ALREADY_VOTED',
      'approvals',
      'approve',
      id,
      '-c',
      config,
      '--as',
      'alice',
    );
    await cliFails(
      'AIRLOCK_APPROVAL_ROLE_INELIGIBLE',
      'approvals',
      'approve',
      id,
      '-c',
      config,
      '--as',
      'sam',
    );
    const shown = JSON.parse(await cli('approvals', 'show', id, '-c', config)) as {
      status: string;
      quorum: unknown;
      votes: { principal: string; role: string; decision: string }[];
    };
    assert.equal(shown.status, 'pending');
    assert.deepEqual(shown.quorum, { count: 2, roles: ['admin'] });
    assert.deepEqual(
      shown.votes.map((v) => [v.principal, v.role, v.decision]),
      [['console:alice', 'admin', 'approved']],
    );
    assert.match(await cli('approvals', 'list', '-c', config), /pending 1\/2 \(console:alice\)/);
    // The local operator (an admin principal) is the second, distinct approver.
    assert.match(await cli('approvals', 'approve', id, '-c', config), /^approved apr_/);
    const outcome = await held;
    assert.equal(outcome.decision, 'approved');
    assert.deepEqual(outcome.decision === 'approved' && outcome.approvers, ['console:alice', LOCAL]);
  });
});

describe('airlock approvals: break-glass overrides', () => {
  it('override → confirm by a second admin → one use; the requester and a supervisor cannot confirm', async () => {
    const argsFile = join(dir, 'args.json');
    await writeFile(argsFile, '{ "customer": "c-7", "scope": "all" }');
    const created = JSON.parse(
      await cli(
        ...overrideArgs('--args-file', argsFile, '--reason', 'INC-42: erasure request'),
        '--as',
        'alice',
        '--json',
      ),
    ) as { id: string; argsHash: string; requestedBy: string; expiresAt: number; requestedAt: number };
    assert.equal(created.requestedBy, 'console:alice');
    assert.equal(created.argsHash, sha256Canonical({ scope: 'all', customer: 'c-7' }));
    assert.equal(created.expiresAt - created.requestedAt, 15 * 60 * 1000);
    const confirmAs = (name: string) => [
      'approvals',
      'confirm-override',
      created.id,
      '-c',
      config,
      '--as',
      name,
    ];
    await cliFails('AIRLOCK_APPROVAL_OVERRIDE_SELF_CONFIRM', ...confirmAs('alice'));
    await cliFails('AIRLOCK_APPROVAL_OVERRIDE_NOT_ADMIN', ...confirmAs('sam'));
    await cliFails('AIRLOCK_APPROVAL_OVERRIDE_INVALID', ...overrideArgs('--args', '[1,2]', '--reason', 'x'));
    const call = { identity: bot, tool: 'erp.purge_customer', argsHash: created.argsHash };
    assert.equal(await queue.useOverride(call), undefined, 'not usable before confirmation');
    assert.match(await cli('approvals', 'confirm-override', created.id, '-c', config), /confirmed by local:/);
    assert.equal(
      await queue.useOverride({ ...call, argsHash: sha256Canonical({ customer: 'c-8' }) }),
      undefined,
    );
    const used = await queue.useOverride(call);
    assert.equal(used?.id, created.id);
    assert.equal(used?.confirmedBy, LOCAL);
    assert.equal(await queue.useOverride(call), undefined, 'used once');
    const listed = JSON.parse(await cli('approvals', 'overrides', '-c', config, '--json')) as {
      id: string;
      consumedAt: number | null;
    }[];
    assert.ok(listed.find((o) => o.id === created.id)?.consumedAt);
    const actions = (await store.audit.listAuditEntries())
      .map((r) => JSON.parse(r.entry) as { action?: string; actor?: string })
      .filter((e) => e.action?.startsWith('approval.override.'))
      .map((e) => [e.action, e.actor]);
    assert.deepEqual(actions.slice(0, 2), [
      ['approval.override.request', 'console:alice'],
      ['approval.override.confirm', LOCAL],
    ]);
  });
});

/** `airlock approvals override` of `erp.purge_customer` for `ops-bot` on the test config, then `rest`. */
function overrideArgs(...rest: string[]): string[] {
  return [
    'approvals',
    'override',
    '-c',
    config,
    '--tool',
    'erp.purge_customer',
    '--identity',
    'ops-bot',
    ...rest,
  ];
}
