/**
 * `airlock report` on a connector with real traffic (see report-run.ts), run as the real CLI: every
 * section is checked against the store, the key files and the audit trail, and filters narrow it.
 * Verifying, rendering and serving the report: report-artifacts.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { storedAuditEntries } from '../../src/audit/stored-trail.js';
import { auditTenant } from '../../src/connector/connector-audit.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import { generateReport } from '../../src/connector/report/generate-report.js';
import { publicKeyFingerprint } from '../../src/identity/pki.js';
import { loadTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { vaultKeyFile, vaultKeyId } from '../../src/report/key-evidence.js';
import type { ReportDocument } from '../../src/report/report-model.js';
import type { SignedReportFile } from '../../src/report/report-signing.js';
import { type ReportRun, startReportRun } from './report-run.js';
import { airlock, REPORT_POLICY, type ReportStack, SHADOW_NAME } from './report-stack.js';

let r: ReportStack;
let out: string;
let signed: SignedReportFile;
let report: ReportDocument;
let run: ReportRun;

before(async () => {
  run = await startReportRun();
  ({ r, out, signed, report } = run);
});

after(() => run?.close());

async function trailEntries(): Promise<Array<Record<string, unknown>>> {
  const entries: Array<Record<string, unknown>> = [];
  for await (const text of storedAuditEntries(r.acme.connector.store.audit)) entries.push(JSON.parse(text));
  return entries;
}

test('keys: fingerprints match the key files; the vault key appears only as its HMAC key id', async () => {
  const c = r.acme.connector;
  const ctx = await loadConnectorContext(r.acme.configFile);
  const byId = new Map(report.keys.map((k) => [k.id, k]));
  assert.equal(byId.get('tenant-ca')?.fingerprint, publicKeyFingerprint(c.pki.caCertPem));
  assert.equal(byId.get('tenant-tls')?.fingerprint, publicKeyFingerprint(c.pki.serverCertPem));
  assert.equal(byId.get('tenant-tls')?.certificate?.dnsNames.includes(r.acme.host), true);
  assert.equal(byId.get('connector')?.fingerprint, publicKeyFingerprint(ctx.credential?.certPem ?? ''));
  const auditPub = await readFile(join(ctx.dataDir, 'audit', 'audit-key.pub.pem'), 'utf8');
  assert.equal(byId.get('audit')?.fingerprint, publicKeyFingerprint(auditPub));
  assert.equal(signed.signature.keyId, publicKeyFingerprint(auditPub));
  for (const id of ['tenant-ca', 'tenant-tls', 'connector', 'audit', 'vault']) {
    const k = byId.get(id);
    assert.equal(k?.present, true, id);
    assert.equal(k?.fileMode, '600', `${id} key file mode`);
    assert.ok(k?.file.startsWith(ctx.dataDir), `${id} lives in the data dir`);
  }
  const keys = await loadTenantPiiKeys({ path: vaultKeyFile(ctx.dataDir), tenant: auditTenant(ctx) });
  assert.equal(byId.get('vault')?.fingerprint, vaultKeyId(keys.vaultKey));
  const json = JSON.stringify(signed);
  const master = JSON.parse(await readFile(vaultKeyFile(ctx.dataDir), 'utf8')).key as string;
  for (const secret of [
    master,
    keys.vaultKey.toString('hex'),
    keys.vaultKey.toString('base64url'),
    keys.tokenKey.toString('hex'),
  ]) {
    assert.equal(json.includes(secret), false, 'no key material in the report');
  }
  assert.doesNotMatch(json, /PRIVATE KEY/);
});

test('data path and TLS: the relay dialed, the upstreams, and handshakes that prove the versions in force', async () => {
  const ctx = await loadConnectorContext(r.acme.configFile);
  const p = report.dataPath;
  assert.equal(p.relay?.url, ctx.config.relay?.url);
  assert.equal(p.relay?.connectorId, ctx.credential?.connectorId);
  assert.equal(p.tenantHost, r.acme.host);
  assert.deepEqual(
    p.upstreams.map((u) => `${u.name}:${u.kind}`),
    ['erp:stdio', 'everything:stdio', 'wiki:http'],
  );
  assert.equal(p.upstreams.find((u) => u.name === 'wiki')?.target, r.wiki.url);
  const tenant = report.tls.endpoints.find((e) => e.name.startsWith('tenant endpoint'));
  assert.ok(tenant, 'the tenant endpoint was probed');
  assert.equal(tenant.servername, r.acme.host);
  const v13 = tenant.probes.find((x) => x.offered === 'TLSv1.3');
  assert.equal(v13?.accepted, true);
  assert.equal(v13?.protocol, 'TLSv1.3');
  assert.match(v13?.cipher ?? '', /^TLS_/);
  const v12 = tenant.probes.find((x) => x.offered === 'TLSv1.2');
  assert.ok(v12 && (v12.accepted ? v12.protocol === 'TLSv1.2' : typeof v12.error === 'string'));
  const relay = report.tls.endpoints.find((e) => e.name.startsWith('relay'));
  assert.equal(
    relay?.probes.some((x) => x.accepted),
    true,
  );
  assert.ok(report.tls.defaults.cipherSuites.includes('TLS_AES_256_GCM_SHA384'));
});

test('policy, identities, catalog and approvals match the store', async () => {
  const store = r.acme.connector.store;
  const latest = await store.policyVersions.latestPolicyVersion();
  assert.equal(report.policy.current?.seq, latest?.seq);
  assert.equal(report.policy.current?.hash, createHash('sha256').update(REPORT_POLICY).digest('hex'));
  assert.deepEqual(
    report.policy.roles.map((x) => x.name),
    ['clerk', 'publisher'],
  );
  const agents = new Map(report.identities.agents.map((a) => [a.name, a]));
  assert.deepEqual(agents.get('agent-1')?.roles, ['clerk']);
  assert.deepEqual(agents.get('agent-2')?.roles, ['clerk', 'publisher']);
  assert.equal(report.identities.agents.length, (await store.identities.listIdentities()).length);

  const snapshot = await store.catalog.catalogSnapshot();
  assert.equal(report.catalog.tools.length, snapshot.pins.length);
  const tools = new Map(report.catalog.tools.map((t) => [t.tool, t]));
  assert.equal(tools.get('wiki.lookup')?.drift, true);
  assert.equal(tools.get('wiki.lookup')?.upstream, 'wiki');
  assert.equal(tools.get('wiki.publish')?.drift, false);
  assert.deepEqual(
    { ...tools.get('everything.echo')?.killSwitch, at: 0 },
    { reason: 'incident 42', by: 'ops', at: 0 },
  );
  assert.ok(report.catalog.events.some((e) => e.tool === 'everything.echo' && e.action === 'disabled'));
  assert.ok(report.catalog.events.some((e) => e.tool === 'wiki.lookup' && e.action === 'changed'));

  const approvals = await store.approvals.listApprovals();
  assert.equal(report.approvals.items.length, approvals.length);
  assert.deepEqual(
    report.approvals.items.map((a) => `${a.identity}:${a.tool}:${a.status}:${a.decidedBy}`).sort(),
    ['agent-1:wiki.publish:denied:console:sam', 'agent-2:wiki.publish:approved:console:sam'],
  );
  assert.equal(report.approvals.counts.approved, 1);
  assert.equal(report.approvals.counts.denied, 1);
});

test('activity: calls per agent and tool, refusals and PII agree with the audit trail', async () => {
  const calls = (await trailEntries()).filter((e) => e.kind === 'request' && e.method === 'tools/call');
  const count = (agent: string, tool: string) =>
    calls.filter((e) => (e.agent as { name?: string } | null)?.name === agent && e.tool === tool).length;
  assert.equal(report.activity.toolCalls, calls.length);
  for (const f of report.activity.flows) {
    assert.equal(f.calls, count(f.agent, f.tool), `${f.agent} → ${f.tool}`);
    assert.equal(f.calls, f.allowed + f.denied + f.errors);
  }
  const flow = (agent: string, tool: string) =>
    report.activity.flows.find((f) => f.agent === agent && f.tool === tool);
  assert.equal(flow('agent-1', 'erp.search_customers')?.allowed, 1);
  assert.equal(flow('agent-1', 'wiki.lookup')?.upstream, 'wiki');
  assert.equal(flow('agent-2', 'everything.echo')?.calls, 2);
  assert.ok(
    (flow('agent-2', 'everything.echo')?.denied ?? 0) >= 1,
    'the kill switch refused the second echo',
  );
  // The agents only ever saw PII as tokens.
  assert.match(r.answers[1] ?? '', /\[\[EMAIL:[0-9a-f]{8,}\]\]/);
  assert.doesNotMatch(r.answers.join('\n'), /ops\.lead@example\.com/);
  // What the report says crossed per tool is what the trail records (see activity-evidence.ts).
  const { piiClassesOfEntry } = await import('../../src/report/activity-evidence.js');
  const fromTrail = new Map<string, number>();
  for (const e of calls)
    for (const [cls, n] of Object.entries(piiClassesOfEntry(e)))
      fromTrail.set(`${e.tool}:${cls}`, (fromTrail.get(`${e.tool}:${cls}`) ?? 0) + n);
  const fromReport = new Map(
    report.activity.piiByTool.flatMap((t) =>
      Object.entries(t.classes).map(([cls, n]) => [`${t.tool}:${cls}`, n] as const),
    ),
  );
  assert.deepEqual(fromReport, fromTrail);
});

test('audit: the verdict is the one `airlock audit verify --json` gives; sandbox state per upstream', async () => {
  const v = report.audit.verification;
  assert.ok(v, 'verified');
  assert.match(report.audit.reproduce, /^airlock audit verify --config /);
  const args = report.audit.reproduce.split(' ').slice(1);
  const again = await airlock(args);
  const direct = JSON.parse(again.stdout.trim().split('\n').at(-1) ?? '{}') as {
    ok: boolean;
    entries: number;
    firstProblem?: { kind: string };
  };
  assert.equal(v.ok, direct.ok);
  assert.ok(direct.entries >= v.entries, 'the trail only grows');
  assert.ok(v.entries > 0);
  assert.equal(report.audit.witnesses[0]?.name.startsWith('relay'), true);

  const live = new Map(r.acme.connector.catalog.status().map((u) => [u.name, u]));
  const erp = report.sandbox.upstreams.find((u) => u.name === 'erp');
  assert.equal(erp?.kind, 'stdio');
  assert.equal(typeof live.get('erp')?.sandboxed, 'boolean');
  assert.equal(erp?.sandboxed, live.get('erp')?.sandboxed, 'the same answer the running connector gave');
  assert.equal(erp?.live?.sandboxed, undefined, 'the CLI report is made outside the connector');
  assert.equal(report.sandbox.upstreams.find((u) => u.name === 'wiki')?.kind, 'http');

  const inventory = report.discovery?.endpoints ?? [];
  assert.deepEqual(inventory.map((e) => `${e.serverInfo?.name}:${e.governed}:${e.upstream}`).sort(), [
    `${SHADOW_NAME}:false:null`,
    'wiki:true:wiki',
  ]);
});

test('period and scope: --agent, --upstream and --since narrow every section', async () => {
  const ctx = await loadConnectorContext(r.acme.configFile);
  const store = r.acme.connector.store;
  const tenant = auditTenant(ctx);
  const two = await generateReport({ ctx, store, tenant, scope: { agent: 'agent-2' } });
  assert.ok(two.activity.flows.length > 0);
  assert.ok(two.activity.flows.every((f) => f.agent === 'agent-2'));
  assert.deepEqual(
    two.approvals.items.map((a) => a.identity),
    ['agent-2'],
  );
  assert.deepEqual(
    two.identities.agents.map((a) => a.name),
    ['agent-2'],
  );
  const wikiOnly = await generateReport({ ctx, store, tenant, scope: { upstream: 'wiki' } });
  assert.ok(wikiOnly.catalog.tools.every((t) => t.upstream === 'wiki'));
  assert.ok(wikiOnly.activity.flows.every((f) => f.upstream === 'wiki'));
  const future = await generateReport({ ctx, store, tenant, scope: { since: Date.now() + 3_600_000 } });
  assert.equal(future.activity.toolCalls, 0);
  assert.equal(future.approvals.items.length, 0);
  const bad = await airlock([
    'report',
    '--config',
    r.acme.configFile,
    '--out',
    join(out, 'x'),
    '--since',
    'yesterday',
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /AIRLOCK_REPORT_SCOPE/);
});
