/**
 * Admin actions from the CLI are audit entries of their own (actor, action, target, reason), written
 * by separate `airlock` processes into the same chain while the connector runs and serves calls:
 * tools approve|disable|enable, console add-admin|disable-admin, approvals approve|deny. The trail
 * stays one chain that verifies against the relay's witness, and `airlock audit prove` prints an
 * inclusion proof that `airlock audit check-proof` accepts with only the public key (and refuses
 * when the entry is altered).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectToTenant } from '../../src/agent/index.js';
import { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import type { AdminAuditEvent } from '../../src/audit/audit-entry.js';
import { everythingUpstream, type Stack, startStack } from './airlock-stack.js';
import { runCliResult, storedEntries } from './audit-cli.js';

let stack: Stack;

before(async () => {
  stack = await startStack({ upstreams: () => ({ everything: everythingUpstream() }) });
});

after(async () => {
  await stack?.close();
});

async function cli(args: string[]): Promise<string> {
  const r = await runCliResult(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Every admin command the issue names, run as `airlock` child processes. */
async function adminCommands(acme: ReturnType<Stack['tenant']>): Promise<void> {
  const config = acme.configFile;
  await cli(['tools', 'disable', 'everything.add', '--reason', 'incident 42', '--config', config]);
  await cli(['tools', 'enable', 'everything.add', '--config', config]);
  const passwordFile = join(stack.dir, 'pw');
  await writeFile(passwordFile, 'a long enough passphrase 42\n', { mode: 0o600 });
  await cli([
    'console',
    'add-admin',
    'bob',
    '--role',
    'supervisor',
    '--password-file',
    passwordFile,
    '--config',
    config,
  ]);
  await cli(['console', 'disable-admin', 'bob', '--config', config]);
  const queue = new ApprovalQueue({
    repository: acme.connector.store.approvals,
    holdMs: 1,
    sweepIntervalMs: 0,
  });
  const ask = (n: number) =>
    queue.request({
      identity: { name: 'agent-1', spiffeId: '', certSerial: '', authenticatedBy: 'mtls' },
      tool: 'everything.echo',
      arguments: { message: `approve-${n}` },
      argsHash: '',
      sessionId: undefined,
      signal: new AbortController().signal,
      sendProgress: async () => {},
    });
  const [a, b] = [await ask(1), await ask(2)];
  await queue.close();
  assert.ok(a.decision === 'pending' && b.decision === 'pending');
  await cli(['approvals', 'approve', a.approvalId, '--reason', 'checked', '--config', config]);
  await cli(['approvals', 'deny', b.approvalId, '--reason', 'not today', '--config', config]);
}

/** An inclusion proof for entry `seq`, checked offline with the public key only; an altered entry is refused. */
async function proveAndCheck(config: string, seq: number): Promise<void> {
  const proofFile = join(stack.dir, 'proof.json');
  await writeFile(proofFile, await cli(['audit', 'prove', String(seq), '--config', config, '--from', '1']));
  const keyFile = join(stack.dir, 'acme', 'audit', 'audit-key.pub.pem');
  assert.match(await cli(['audit', 'check-proof', '--proof', proofFile, '--key', keyFile]), /^proof OK/);
  const proof = JSON.parse(await readFile(proofFile, 'utf8')) as { leaf: string };
  await writeFile(
    proofFile,
    JSON.stringify({ ...proof, leaf: proof.leaf.replace('incident 42', 'routine') }),
  );
  const forged = await runCliResult(['audit', 'check-proof', '--proof', proofFile, '--key', keyFile]);
  assert.equal(forged.code, 1);
  assert.match(forged.stdout, /is not included/);
}

test('CLI admin actions are audited in the running connector’s chain, which still verifies', async () => {
  const acme = stack.tenant('acme');
  const client = await connectToTenant(acme.connection(), { name: 'admin-e2e', version: '1' });
  // Calls keep flowing while the CLI writes: two writers, one chain.
  let calls = 0;
  let stop = false;
  const traffic = (async () => {
    while (!stop) {
      await client
        .callTool({ name: 'everything.echo', arguments: { message: `t-${calls}` } })
        .catch(() => undefined);
      calls += 1;
    }
  })();
  try {
    await adminCommands(acme);
  } finally {
    stop = true;
    await traffic.catch(() => undefined);
    await client.close();
  }
  assert.ok(calls > 0);

  const entries = await storedEntries(acme.connector.store.audit);
  const admin = entries.filter((e): e is typeof e & AdminAuditEvent => e.kind === 'admin');
  const find = (action: string, target: string) =>
    admin.find((e) => e.action === action && e.target === target);
  assert.equal(find('tool.disable', 'everything.add')?.reason, 'incident 42');
  assert.match(find('tool.disable', 'everything.add')?.actor ?? '', /^cli:/);
  assert.ok(find('tool.enable', 'everything.add'));
  assert.equal(find('admin.add', 'bob')?.detail?.role, 'supervisor');
  assert.ok(find('admin.disable', 'bob'));
  const grant = admin.find((e) => e.action === 'approval.grant');
  const deny = admin.find((e) => e.action === 'approval.deny');
  assert.ok(grant && deny, admin.map((e) => e.action).join(', '));
  assert.equal(deny.reason, 'not today');

  const ledger = acme.connector.audit;
  await ledger.append({ kind: 'admin', action: 'policy.change', actor: 'test', target: 'after the CLI' });
  await ledger.checkpoint();
  assert.ok(await ledger.drainWitnesses(5_000));
  assert.match(await cli(['audit', 'verify', '--config', acme.configFile]), /^audit trail OK/);
  const disabled = find('tool.disable', 'everything.add');
  assert.ok(disabled);
  await proveAndCheck(acme.configFile, disabled.seq);
});
