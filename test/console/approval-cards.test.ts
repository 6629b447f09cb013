/**
 * Approval cards as a person deciding sees them, through the console app on a real SQLite store and
 * a real audit ledger: the tool's description and annotations from the pinned definition, the rule,
 * no arguments hash; the comparison picks an earlier DECIDED call of the same agent and tool — never a
 * pending one, never another agent's; an unmasked view is refused without the permission and audited
 * with it. Also the `console.oidc` config section refuses an http issuer and an empty role map.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { definitionOf } from '../../src/catalog/tool-definition.js';
import { type ConsoleApp, createConsoleApp } from '../../src/console/console-app.js';
import { consoleConfigSchema } from '../../src/console/console-config-schema.js';
import type { ConsoleOidcOptions } from '../../src/console/oidc-sign-in.js';
import { type PolicyWatcher, watchPolicy } from '../../src/policy/policy-watcher.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

let dir: string;
let store: Store;
let ledger: AuditLedger;
let queue: ApprovalQueue;
let watcher: PolicyWatcher;
let consoleApp: ConsoleApp;
const T0 = Date.now() - 60_000;

const id = (n: number) => `apr_${String(n).padStart(24, '0')}`;

async function request(
  n: number,
  identity: string,
  args: object,
  at: number,
  quorum: { count: number; roles?: string[] } | null = null,
): Promise<void> {
  await store.approvals.createApproval({
    quorum,
    id: id(n),
    identity,
    spiffeId: `spiffe://acme.localhost/agent/${identity}`,
    tool: 'erp.refund',
    argsHash: `${n}`.padStart(64, '0'),
    arguments: JSON.stringify(args),
    tier: 'approve',
    sessionId: null,
    createdAt: at,
    expiresAt: at + 3_600_000,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-approval-cards-'));
  store = await openStore({ url: `sqlite:${join(dir, 'c.db')}` });
  ledger = await AuditLedger.open({ repository: store.audit, tenant: 'acme', key: generateAuditKey() });
  queue = new ApprovalQueue({ repository: store.approvals, sweepIntervalMs: 0 });
  await writeFile(
    join(dir, 'policy.yaml'),
    'defaultTier: auto\ncatalog:\n  mode: tofu\ntools:\n  - name: big-refunds\n    match: erp.refund\n    tier: approve\n',
  );
  watcher = await watchPolicy({ file: join(dir, 'policy.yaml'), pollIntervalMs: 0, fsWatch: false });
  const tool = {
    name: 'erp.refund',
    title: 'Refund a customer',
    description: 'Pays money back to the customer account on file.',
    inputSchema: { type: 'object' },
    annotations: { destructiveHint: true, openWorldHint: true },
  };
  const { hash, canonical } = definitionOf(tool);
  await store.catalog.observeTool({
    tool: tool.name,
    hash,
    definition: canonical,
    findings: '[]',
    at: T0,
    autoApprove: true,
  });
  // A decided call of the same agent; a decided call of another agent identical to the new one;
  // a pending call nearly identical to the new one; the new one.
  await request(1, 'claims-bot', { amount: 50, customer: { email: 'anna@example.com', id: 'C-1' } }, T0);
  await request(2, 'other-bot', { amount: 5000, customer: { email: 'anna@example.com', id: 'C-1' } }, T0 + 1);
  await request(
    3,
    'claims-bot',
    { amount: 4999, customer: { email: 'anna@example.com', id: 'C-1' } },
    T0 + 2,
  );
  await request(
    4,
    'claims-bot',
    { amount: 5000, customer: { email: 'anna@example.com', id: 'C-1' } },
    T0 + 3,
  );
  for (const n of [1, 2]) {
    const decided = await store.approvals.decideApproval(id(n), {
      status: 'approved',
      decidedBy: 'console:sam',
      reason: null,
      decidedAt: T0 + 10,
    });
    assert.equal(decided.ok, true);
  }
  await request(5, 'claims-bot', { amount: 9000 }, T0 + 4, { count: 2, roles: ['supervisor'] });
  const vote = { principal: 'console:sam', name: 'sam', role: 'supervisor', reason: null, votedAt: T0 + 20 };
  const voted = await store.approvals.voteApproval(id(5), { ...vote, decision: 'approved' }, 2);
  assert.equal(voted.ok, true);
  for (const [name, reveal] of [
    ['alice', true],
    ['bob', false],
  ] as const) {
    await store.adminAccounts.putAdminAccount(
      { name, passwordHash: 'x', role: 'supervisor', revealPii: reveal },
      T0,
    );
  }
  consoleApp = createConsoleApp({
    store,
    approvals: queue,
    policy: watcher,
    audit: ledger,
    status: () => ({ tenant: 'acme', tenantHost: 'acme.localhost', tunnels: [], upstreams: [], sessions: 0 }),
  });
});

after(async () => {
  await consoleApp?.close();
  await queue?.close();
  await watcher?.close();
  await ledger?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

async function get(path: string, account: string): Promise<{ status: number; body: string }> {
  const { id: session } = consoleApp.sessions.create(account);
  const res = await consoleApp.fetch(
    new Request(`http://127.0.0.1${path}`, {
      headers: { host: '127.0.0.1', cookie: `__Host-airlock_session=${session}`, accept: 'text/html' },
    }),
  );
  return { status: res.status, body: await res.text() };
}

it('shows what the tool does, the rule, the end user line, and no arguments hash', async () => {
  const { status, body } = await get(`/approvals/${id(4)}`, 'bob');
  assert.equal(status, 200);
  assert.match(body, /Refund a customer/);
  assert.match(body, /Pays money back to the customer account on file\./);
  assert.match(body, /class="pill bad">destructive</);
  assert.match(body, /rule <strong>&#39;big-refunds&#39; \(tools\[0\]\)<\/strong>/);
  assert.match(body, /End user/);
  assert.doesNotMatch(body, /Arguments hash/i);
  assert.match(body, /class="kv"/, 'arguments as a key/value table');
  assert.match(body, /class="depth-1">email</, 'nested objects indented');
  assert.doesNotMatch(body, /anna@example\.com/, 'masked');
});

it('compares with an earlier decided call of the same agent and tool, never a pending one or another agent', async () => {
  const { body } = await get(`/approvals/${id(4)}`, 'bob');
  const compared = /most similar earlier decided call: <a href="\/approvals\/(apr_\d+)"/.exec(body)?.[1];
  assert.equal(compared, id(1), 'the decided call of claims-bot, not the pending 4999 nor other-bot');
  assert.match(body, /<strong>changed<\/strong>/);
});

it('a two-person rule shows how many approvals it needs, from which roles, and who approved so far', async () => {
  const { body } = await get(`/approvals/${id(5)}`, 'bob');
  assert.match(body, /<dt>Approvals<\/dt><dd><strong>1 of 2<\/strong> \(supervisor\): console:sam<\/dd>/);
  const single = await get(`/approvals/${id(4)}`, 'bob');
  assert.doesNotMatch(single.body, /<dt>Approvals<\/dt>/, 'nothing for a one-approval rule');
});

it('refuses an unmasked view without the permission and audits it with the permission', async () => {
  assert.equal((await get(`/approvals/${id(4)}?reveal=1`, 'bob')).status, 403);
  const before = (await store.audit.listAuditEntries()).length;
  const revealed = await get(`/approvals/${id(4)}?reveal=1`, 'alice');
  assert.equal(revealed.status, 200);
  assert.match(revealed.body, /anna@example\.com/);
  const entries = (await store.audit.listAuditEntries()).map(
    (r) => JSON.parse(r.entry) as Record<string, unknown>,
  );
  assert.equal(entries.length, before + 1);
  const last = entries.at(-1);
  assert.equal(last?.action, 'pii.reveal');
  assert.equal(last?.actor, 'console:alice');
  assert.equal(last?.target, id(4));
});

it('the console.oidc config refuses an http issuer and an empty role map', () => {
  const ok = consoleConfigSchema.safeParse({
    oidc: { issuer: 'https://login.acme.example', clientId: 'c', roleMap: { admins: 'admin' } },
  });
  assert.equal(ok.success, true);
  assert.equal(ok.data?.oidc?.roleClaim, 'groups');
  // The parsed section is what `createConsoleApp({ oidc })` takes (checked by the compiler).
  const options: ConsoleOidcOptions | undefined = ok.data?.oidc;
  assert.equal(options?.clientId, 'c');
  const http = consoleConfigSchema.safeParse({
    oidc: { issuer: 'http://login.acme.example', clientId: 'c', roleMap: { admins: 'admin' } },
  });
  assert.equal(http.success, false);
  const empty = consoleConfigSchema.safeParse({
    oidc: { issuer: 'https://login.acme.example', clientId: 'c', roleMap: {} },
  });
  assert.equal(empty.success, false);
  const badRole = consoleConfigSchema.safeParse({
    oidc: { issuer: 'https://login.acme.example', clientId: 'c', roleMap: { x: 'root' } },
  });
  assert.equal(badRole.success, false);
});
