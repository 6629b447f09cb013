/**
 * The audit trail through the real relay: agents' calls (allowed and refused) and admin actions
 * become chained entries in the connector's store, signed checkpoints reach the relay's witness over
 * the connector's authenticated HTTPS (C2SP tlog-witness), `airlock audit verify` passes, and
 * cutting off the tail after a witnessed checkpoint (local checkpoints included, as an attacker
 * would) passes `verify --offline` but is named as a truncation by `airlock audit verify`, and the
 * connector's start-up check refuses to start on it, saying what to run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import Database from 'better-sqlite3';
import { connectToTenant } from '../../src/agent/index.js';
import { auditKeyId, auditPublicKeyFromPem } from '../../src/audit/audit-key.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { until } from '../fixtures/wait-until.js';
import { everythingUpstream, type Stack, startStack } from './airlock-stack.js';
import { exportedEntries, runCliResult, setAuditConfig, storedEntries } from './audit-cli.js';

let stack: Stack;

before(async () => {
  stack = await startStack({ upstreams: () => ({ everything: everythingUpstream() }) });
  const acme = stack.tenant('acme');
  await setAuditConfig(acme.configFile, { checkpointEvery: 5, checkpointIntervalMs: 200 });
  await acme.restart();
});

after(async () => {
  await stack?.close();
});

type Tenant = ReturnType<Stack['tenant']>;
type Ledger = Tenant['connector']['audit'];

test('calls are audited, checkpoints are witnessed by the relay, a cut-off tail is detected', async (t) => {
  const acme = stack.tenant('acme');
  const ledger = acme.connector.audit;
  await keyIsRegistered(ledger);
  await adminActionsFromCli(acme);
  await agentCalls(acme);
  await trailHasCallsAndActions(acme, t);
  await everyCheckpointIsWitnessed(acme, ledger);
  const keyFile = await exportVerifiesOffline(acme);
  const { cut, treeSize } = await cutOffTail(acme);
  await cutIsInvisibleWithoutWitness(acme, keyFile);
  await witnessNamesTheCut(acme, cut, treeSize, t);
  // The start-up check refuses to extend the cut trail and says what to run.
  await assert.rejects(acme.restart(), (e: unknown) => {
    const m = (e as Error).message;
    return (
      /AIRLOCK_AUDIT_TAMPERED|does not verify/.test(`${(e as { code?: string }).code} ${m}`) &&
      /airlock audit verify --config/.test(m)
    );
  });
});

/** The audit key was registered with the relay's witness, certified by the tenant CA. */
async function keyIsRegistered(ledger: Ledger): Promise<void> {
  const registered = async () =>
    (await stack.relayStore.audit.listWitnessKeys('acme')).some((k) => k.keyId === `pinned:${ledger.keyId}`);
  await until("the audit key registered with the relay's witness", registered);
  assert.ok(await registered());
  assert.equal(auditKeyId(auditPublicKeyFromPem(ledger.publicKeyPem)), ledger.keyId);
}

/** Admin actions from the CLI, while the connector runs: a second writer on the same chain. */
async function adminActionsFromCli(acme: Tenant): Promise<void> {
  const out = join(stack.dir, 'agent-2');
  const issued = await runCliResult([
    'identity',
    'issue',
    'agent-2',
    '--config',
    acme.configFile,
    '--out',
    out,
  ]);
  assert.equal(issued.code, 0, issued.stderr);
  const revoked = await runCliResult(['identity', 'revoke', 'agent-2', '--config', acme.configFile]);
  assert.equal(revoked.code, 0, revoked.stderr);
}

/** Twelve allowed echo calls and one refused call, through the relay. */
async function agentCalls(acme: Tenant): Promise<void> {
  const client = await connectToTenant(acme.connection(), { name: 'audit-e2e', version: '1' });
  try {
    for (let i = 0; i < 12; i += 1) {
      const r = (await client.callTool({ name: 'everything.echo', arguments: { message: `m-${i}` } })) as {
        content: Array<{ text?: string }>;
      };
      assert.equal(r.content[0]?.text, `Echo: m-${i}`);
    }
    await assert.rejects(client.callTool({ name: 'everything.no_such_tool', arguments: { x: 1 } }));
  } finally {
    await client.close();
  }
}

/** The stored trail: every call (hashed arguments only, never raw) and every admin action. */
async function trailHasCallsAndActions(acme: Tenant, t: TestContext): Promise<void> {
  const entries = await storedEntries(acme.connector.store.audit);
  const requests = entries.filter((e) => e.kind === 'request');
  const echoes = requests.filter((e) => e.kind === 'request' && e.tool === 'everything.echo');
  assert.equal(echoes.length, 12);
  for (let i = 0; i < 12; i += 1) {
    const e = echoes[i];
    assert.ok(e && e.kind === 'request');
    assert.equal(e.decision, 'allow');
    assert.equal(e.agent?.name, 'agent-1');
    assert.equal(e.arguments?.sha256, sha256Canonical({ message: `m-${i}` }));
    assert.equal(typeof e.upstreamLatencyMs, 'number');
    assert.ok(!JSON.stringify(e).includes(`m-${i}"`), 'raw arguments never reach the trail');
  }
  const refused = requests.find((e) => e.kind === 'request' && e.tool === 'everything.no_such_tool');
  assert.ok(refused && refused.kind === 'request');
  assert.notEqual(refused.decision, 'allow');
  assert.ok(refused.error?.airlock, 'the refusal code is recorded');
  assert.ok(requests.some((e) => e.kind === 'request' && e.method === 'initialize') || requests.length >= 13);
  const actions = entries.flatMap((e) => (e.kind === 'admin' ? [e.action as string] : []));
  for (const a of [
    'connector.enroll',
    'connector.start',
    'connector.stop',
    'identity.issue',
    'identity.revoke',
  ]) {
    assert.ok(actions.includes(a), `admin action ${a} is in the trail (${actions.join(', ')})`);
  }
  t.diagnostic(`entries: ${entries.length} (${requests.length} requests, actions: ${actions.join(', ')})`);
}

/** Everything so far is checkpointed and witnessed by the relay; `audit verify` passes. */
async function everyCheckpointIsWitnessed(acme: Tenant, ledger: Ledger): Promise<void> {
  const cp = await ledger.checkpoint();
  assert.ok(await ledger.drainWitnesses(5_000), 'the relay witnessed every checkpoint');
  const witnessed = await stack.relayStore.audit.listWitnessCheckpoints('airlock.audit/acme');
  assert.ok(witnessed.length >= 2, 'checkpoints reached the relay');
  assert.equal(witnessed.at(-1)?.treeSize, cp?.treeSize ?? ledger.head.seq);
  assert.equal(witnessed.at(-1)?.headHash, ledger.stats().rootHash);

  const ok = await runCliResult(['audit', 'verify', '--config', acme.configFile]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^audit trail OK: \d+ entries/);
}

/** An export verifies offline, with nothing but the file and the pinned public key (returned). */
async function exportVerifiesOffline(acme: Tenant): Promise<string> {
  const exportFile = join(stack.dir, 'acme-trail.jsonl');
  const exportTrail = (format: string, out: string) =>
    runCliResult(['audit', 'export', '--config', acme.configFile, '--format', format, '--out', out]);
  const exported = await exportTrail('jsonl', exportFile);
  assert.equal(exported.code, 0, exported.stderr);
  const storedNow = await storedEntries(acme.connector.store.audit);
  assert.deepEqual(
    (await exportedEntries(exportFile)).map((e) => e.hash),
    storedNow.map((e) => e.hash),
  );
  const keyFile = join(stack.dir, 'acme', 'audit', 'audit-key.pub.pem');
  const offline = await runCliResult([
    'audit',
    'verify',
    '--file',
    exportFile,
    '--key',
    keyFile,
    '--offline',
  ]);
  assert.equal(offline.code, 0, offline.stdout + offline.stderr);
  const ocsfFile = join(stack.dir, 'acme-trail.ocsf.jsonl');
  const ocsf = await exportTrail('ocsf', ocsfFile);
  assert.equal(ocsf.code, 0, ocsf.stderr);
  return keyFile;
}

/**
 * Stops the connector (its final checkpoint is witnessed too), then cuts off its last 4 entries AND
 * the local checkpoints covering them, as someone controlling the connector's disk would.
 */
async function cutOffTail(acme: Tenant): Promise<{ cut: number; treeSize: number }> {
  await acme.connector.close();
  const finalWitnessed = (await stack.relayStore.audit.listWitnessCheckpoints('airlock.audit/acme')).at(-1);
  assert.ok(finalWitnessed);
  const cut = finalWitnessed.treeSize - 4;
  const db = new Database(join(stack.dir, 'acme', 'airlock.db'));
  try {
    db.prepare('DELETE FROM audit_entries WHERE seq > ?').run(cut);
    db.prepare('DELETE FROM audit_checkpoints WHERE tree_size > ?').run(cut);
  } finally {
    db.close();
  }
  return { cut, treeSize: finalWitnessed.treeSize };
}

/**
 * Without a witness (an export verified on its own), a clean cut is invisible: --offline accepts it
 * and says what it did not check; without --offline, no witness means no verdict.
 */
async function cutIsInvisibleWithoutWitness(acme: Tenant, keyFile: string): Promise<void> {
  const cutExport = join(stack.dir, 'acme-cut.jsonl');
  const exportedCut = await runCliResult([
    'audit',
    'export',
    '--config',
    acme.configFile,
    '--out',
    cutExport,
  ]);
  assert.equal(exportedCut.code, 0, exportedCut.stderr);
  const local = await runCliResult(['audit', 'verify', '--file', cutExport, '--key', keyFile, '--offline']);
  assert.equal(
    local.code,
    0,
    `without the witness, a clean cut is invisible: ${local.stdout}${local.stderr}`,
  );
  assert.match(local.stdout, /NOT CHECKED: no witness was consulted/);
  const noWitness = await runCliResult(['audit', 'verify', '--file', cutExport, '--key', keyFile]);
  assert.equal(noWitness.code, 1, noWitness.stdout);
  assert.match(noWitness.stdout, /unwitnessed/);
}

/** With the relay's witness (even under --offline, it checks the witnesses that answer) the cut is named. */
async function witnessNamesTheCut(
  acme: Tenant,
  cut: number,
  treeSize: number,
  t: TestContext,
): Promise<void> {
  const offlineButReachable = await runCliResult([
    'audit',
    'verify',
    '--config',
    acme.configFile,
    '--offline',
  ]);
  assert.equal(offlineButReachable.code, 1, offlineButReachable.stdout);
  const caught = await runCliResult(['audit', 'verify', '--config', acme.configFile]);
  assert.equal(caught.code, 1, caught.stdout + caught.stderr);
  assert.match(caught.stdout, new RegExp(`FAILED at entry ${cut + 1}: truncated`), caught.stderr);
  assert.match(caught.stdout, new RegExp(`entries ${cut + 1}\\.\\.${treeSize} were removed`));
  assert.match(caught.stdout, /cosigned by witness relay/);
  t.diagnostic(caught.stdout.trim());
}
