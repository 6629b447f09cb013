/**
 * The approval queue on a real SQLite file store: holding a call with progress, decisions in this
 * process and from another process (a second store on the same file), exactly-once use, denial,
 * expiry, separation of duties, the webhook (a real HTTP server), live listeners, the audit trail.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APPROVAL_ERROR_CODES, ApprovalError } from '../../src/approvals/approval-error.js';
import { type Approver, consoleApprover, localApprover } from '../../src/approvals/approval-principal.js';
import { type ApprovalChange, ApprovalQueue } from '../../src/approvals/approval-queue.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import type { ApprovalRequest } from '../../src/gateway/approval-hook.js';
import type { GatewayIdentity, ProgressUpdate } from '../../src/gateway/gateway-context.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';

const bot: GatewayIdentity = {
  name: 'claims-bot',
  spiffeId: 'spiffe://acme.localhost/agent/claims-bot',
  certSerial: '0a',
  authenticatedBy: 'mtls',
};

function request(
  args: Record<string, unknown>,
  opts: { signal?: AbortSignal; tool?: string; identity?: GatewayIdentity } = {},
): ApprovalRequest & { progress: ProgressUpdate[] } {
  const progress: ProgressUpdate[] = [];
  return {
    identity: opts.identity ?? bot,
    tool: opts.tool ?? 'erp.refund',
    arguments: args,
    argsHash: sha256Canonical(args),
    sessionId: undefined,
    signal: opts.signal ?? new AbortController().signal,
    sendProgress: async (u) => {
      progress.push(u);
    },
    progress,
  };
}

/** A signed-in console account's principal. */
const con = (name: string): Approver => consoleApprover({ name });

/** Resolves with the first queue change matching `type`. */
function nextChange(queue: ApprovalQueue, type: ApprovalChange['type']): Promise<ApprovalChange> {
  return new Promise((resolve) => {
    const on = (c: ApprovalChange) => {
      if (c.type !== type) return;
      queue.off('change', on);
      resolve(c);
    };
    queue.on('change', on);
  });
}

interface WebhookReceiver {
  server: Server;
  port: number;
  received: Array<{ headers: IncomingMessage['headers']; body: string }>;
  /** While set, requests are recorded but never answered (counted in `unanswered`). */
  hang: boolean;
  unanswered: number;
}

/** A real HTTP server on loopback standing in for the chat webhook: records every request. */
async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const hook = { received: [], hang: false, unanswered: 0 } as unknown as WebhookReceiver;
  hook.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      hook.received.push({ headers: req.headers, body });
      if (hook.hang) hook.unanswered++;
      else res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
  hook.port = (hook.server.address() as AddressInfo).port;
  return hook;
}

/** Counts the finished reads of `queue`'s pending list: the store watcher makes one each poll. */
function countPendingReads(queue: ApprovalQueue): () => number {
  let finished = 0;
  const read = queue.pending.bind(queue);
  queue.pending = (limit?: number) =>
    read(limit).finally(() => {
      finished++;
    });
  return () => finished;
}

let dir: string;
let url: string;
const stores: Store[] = [];
const queues: ApprovalQueue[] = [];

async function openQueue(opts: Partial<ConstructorParameters<typeof ApprovalQueue>[0]> = {}) {
  const store = await openStore({ url });
  stores.push(store);
  const queue = new ApprovalQueue({
    repository: store.approvals,
    pollIntervalMs: 50,
    progressIntervalMs: 200,
    ...opts,
  });
  queues.push(queue);
  return { store, queue };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-approvals-'));
  url = `sqlite:${join(dir, 'connector.db')}`;
});

after(async () => {
  for (const q of queues) await q.close();
  for (const s of stores) await s.close();
  await rm(dir, { recursive: true, force: true });
});

describe('approval queue', () => {
  it('holds the call with progress, runs it once when approved in this process, and needs a new approval after', async () => {
    const { queue } = await openQueue({ holdMs: 10_000 });
    const created = nextChange(queue, 'created');
    const req = request({ amount: 120, customer: 'c-1' });
    const outcome = queue.request(req);
    const { approval } = await created;
    assert.ok(approval);
    assert.equal(approval.status, 'pending');
    assert.equal(approval.identity, 'claims-bot');
    assert.equal(approval.argsHash, req.argsHash);
    assert.deepEqual(JSON.parse(approval.arguments), { amount: 120, customer: 'c-1' });
    await until('progress while held', () => req.progress.length >= 2);
    const decided = await queue.approve(approval.id, con('alice'), 'looks fine');
    assert.equal(decided.status, 'approved');
    assert.equal(decided.decidedBy, 'console:alice');
    assert.equal(decided.reason, 'looks fine');
    const result = await outcome;
    assert.deepEqual(result, { decision: 'approved', approvalId: approval.id, approver: 'console:alice' });
    assert.ok(req.progress.length >= 2, `progress notifications while held: ${req.progress.length}`);
    assert.match(req.progress[0]?.message ?? '', new RegExp(approval.id));
    for (let i = 1; i < req.progress.length; i++) {
      assert.ok(
        (req.progress[i]?.progress ?? 0) > (req.progress[i - 1]?.progress ?? 0),
        'progress increases',
      );
    }
    const used = await queue.get(approval.id);
    assert.ok(used?.consumedAt, 'the approval was consumed');
    // The same call again: the approval was used up, so it waits for a new one.
    const again = await (await openQueue({ holdMs: 0 })).queue.request(
      request({ amount: 120, customer: 'c-1' }),
    );
    assert.equal(again.decision, 'pending');
    assert.notEqual(again.approvalId, approval.id);
  });

  it('answers pending after the hold time; a retry after approval from another process runs exactly once; other arguments need a new approval', async () => {
    const { queue } = await openQueue({ holdMs: 300 });
    const started = Date.now();
    const first = await queue.request(request({ amount: 999 }));
    assert.equal(first.decision, 'pending');
    assert.ok(Date.now() - started >= 250, 'held for about the hold time');
    assert.ok(
      first.decision === 'pending' && first.expiresAt > Date.now() + 23 * 3_600_000,
      'default expiry 24 h',
    );
    // Another process (the CLI) decides on its own connection to the same database.
    const other = await openQueue();
    await other.queue.approve(first.approvalId, { ...con('bob'), via: 'cli' });
    const retries = await Promise.all([
      queue.request(request({ amount: 999 })),
      queue.request(request({ amount: 999 })),
    ]);
    const approved = retries.filter((r) => r.decision === 'approved');
    assert.equal(approved.length, 1, `exactly one retry runs: ${JSON.stringify(retries)}`);
    assert.equal(approved[0]?.approvalId, first.approvalId);
    const loser = retries.find((r) => r.decision !== 'approved');
    assert.equal(loser?.decision, 'pending');
    assert.notEqual(loser?.approvalId, first.approvalId);
    const different = await queue.request(request({ amount: 1000 }));
    assert.equal(different.decision, 'pending');
    assert.notEqual(different.approvalId, first.approvalId);
  });
});

describe('approval queue: decisions from another process and refusals', () => {
  it('a decision made by another process reaches a held call by polling the store', async () => {
    const { queue } = await openQueue({ holdMs: 10_000 });
    const other = await openQueue();
    const created = nextChange(queue, 'created');
    const held = queue.request(request({ invoice: 'INV-7' }));
    const { approval } = await created;
    assert.ok(approval);
    await other.queue.deny(approval.id, localApprover(), 'duplicate invoice');
    // Released by the denial, not by the hold time running out (that would answer `pending`).
    const outcome = await held;
    assert.deepEqual(outcome, {
      decision: 'denied',
      approvalId: approval.id,
      approver: localApprover().id,
      reason: 'duplicate invoice',
    });
    // The denial was delivered; a later identical call asks anew.
    const later = await (await openQueue({ holdMs: 0 })).queue.request(request({ invoice: 'INV-7' }));
    assert.equal(later.decision, 'pending');
    assert.notEqual(later.approvalId, approval.id);
  });

  it('separation of duties, reasons, double decisions, unknown ids and expiry are refused with clear errors', async () => {
    let clock = Date.now();
    const { queue } = await openQueue({ holdMs: 0, expiryMs: 60_000, now: () => clock });
    const outcome = await queue.request(request({ amount: 1 }));
    assert.equal(outcome.decision, 'pending');
    const id = outcome.approvalId;
    const refused = (code: string) => (err: unknown) => {
      assert.ok(err instanceof ApprovalError, String(err));
      assert.equal(err.code, code);
      return true;
    };
    // Separation of duties compares principals: the requester is agent:<spiffe id>.
    await assert.rejects(
      queue.approve(id, { ...con('carol'), actsFor: [`agent:${bot.spiffeId}`] }),
      refused(APPROVAL_ERROR_CODES.selfApproval),
    );
    // A display name equal to, or looking like, the requester's name is refused too (U+2011 hyphen,
    // Cyrillic а): a look-alike cannot pass for another person in the trail.
    for (const name of ['claims-bot', 'Claims-Bot', 'claims\u2011bot', 'cl\u0430ims-bot']) {
      await assert.rejects(queue.approve(id, con(name)), refused(APPROVAL_ERROR_CODES.selfApproval), name);
    }
    await assert.rejects(queue.approve(id, con('claims-bot')), /separation of duties/);
    // Unauthenticated approvers (a bare name, an agent principal, a forged id) are refused.
    for (const approver of [
      { id: 'claims-bot', name: 'mallory', via: 'cli' },
      { id: `agent:${bot.spiffeId}`, name: 'mallory', via: 'cli' },
      { id: '', name: 'alice', via: 'console' },
      { id: 'console:alice', name: '', via: 'console' },
    ] as Approver[]) {
      await assert.rejects(queue.approve(id, approver), refused(APPROVAL_ERROR_CODES.invalid));
    }
    assert.equal((await queue.get(id))?.status, 'pending');
    await assert.rejects(queue.deny(id, con('alice'), '   '), refused(APPROVAL_ERROR_CODES.reasonRequired));
    await assert.rejects(queue.approve('apr_missing', con('alice')), refused(APPROVAL_ERROR_CODES.unknown));
    await queue.approve(id, con('alice'));
    await assert.rejects(queue.deny(id, con('bob'), 'too late'), refused(APPROVAL_ERROR_CODES.decided));
    await assert.rejects(queue.deny(id, con('bob'), 'too late'), /already approved by console:alice/);
    // Expiry: nobody decided within 60 s.
    const stale = await queue.request(request({ amount: 2 }));
    clock += 61_000;
    await assert.rejects(
      queue.approve(stale.approvalId, con('alice')),
      refused(APPROVAL_ERROR_CODES.expired),
    );
    assert.equal((await queue.get(stale.approvalId))?.status, 'expired');
    assert.equal(
      (await queue.pending()).some((p) => p.id === stale.approvalId),
      false,
    );
  });
});

describe('approval queue: release and the webhook', () => {
  it('releases a held call when the agent goes away, and when the queue closes', async () => {
    // Held for ten minutes: only the agent going away or the queue closing can release these calls.
    const { queue } = await openQueue({ holdMs: 600_000 });
    const abort = new AbortController();
    void nextChange(queue, 'created').then(() => abort.abort());
    const outcome = await queue.request(request({ amount: 3 }, { signal: abort.signal }));
    assert.equal(outcome.decision, 'pending');
    void nextChange(queue, 'created').then(() => queue.close());
    assert.equal((await queue.request(request({ amount: 4 }))).decision, 'pending');
  });

  it('notifies a webhook with a Slack-compatible payload without arguments, and never waits for it', async () => {
    const hook = await startWebhookReceiver();
    const { received, server, port } = hook;
    try {
      const { queue } = await openQueue({
        holdMs: 0,
        webhook: {
          url: `http://127.0.0.1:${port}/hook`,
          consoleUrl: 'http://127.0.0.1:7070',
          // Longer than any test: a call that waited for the silent webhook below would never return.
          timeoutMs: 600_000,
        },
      });
      const outcome = await queue.request(request({ email: 'anna@example.com', amount: 5 }));
      await until('the webhook request', () => received.length > 0);
      assert.equal(received.length, 1);
      assert.equal(received[0]?.headers['content-type'], 'application/json');
      const payload = JSON.parse(received[0]?.body ?? '{}') as {
        text: string;
        blocks: Array<Record<string, unknown>>;
      };
      assert.match(payload.text, /claims-bot wants to call erp\.refund/);
      assert.ok(payload.text.includes(outcome.approvalId));
      assert.ok(Array.isArray(payload.blocks) && payload.blocks.length >= 2);
      assert.ok(
        JSON.stringify(payload).includes(`http://127.0.0.1:7070/approvals#approval-${outcome.approvalId}`),
      );
      assert.ok(!received[0]?.body.includes('anna@example.com'), 'arguments are not sent to the webhook');
      // A webhook that never answers does not hold the call up: the call is answered while the
      // webhook's request is still open.
      hook.hang = true;
      assert.equal((await queue.request(request({ amount: 6 }))).decision, 'pending');
      await until('the second webhook request', () => received.length === 2);
      assert.equal(hook.unanswered, 1, 'the webhook had not answered when the call returned');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('approval queue: listeners and the audit trail', () => {
  it('listeners see changes made here and, when subscribed, in other processes; decisions are audited', async () => {
    const { store, queue: plain } = await openQueue({ holdMs: 0 });
    const ledger = await AuditLedger.open({
      repository: store.audit,
      tenant: 'acme',
      key: generateAuditKey(),
    });
    const queue = new ApprovalQueue({
      repository: store.approvals,
      holdMs: 0,
      watchIntervalMs: 50,
      audit: ledger,
    });
    queues.push(queue);
    const reads = countPendingReads(queue);
    try {
      const seen: ApprovalChange[] = [];
      queue.on('change', (c) => seen.push(c));
      const externals: ApprovalChange[] = [];
      const stop = queue.subscribe((c) => {
        if (c.type === 'external') externals.push(c);
      });
      const mine = await queue.request(request({ amount: 7 }));
      await queue.approve(mine.approvalId, con('alice'), 'ok');
      assert.deepEqual(
        seen.map((c) => c.type),
        ['created', 'approved'],
      );
      // The watcher has settled on this state once two more of its reads finished (they never overlap),
      // so what it reports from here on is the other process's change, not this one's.
      const settled = reads() + 2;
      await until('the store watcher to settle', () => reads() >= settled);
      externals.length = 0;
      // Another process adds a request: subscribers hear about it from the store watcher.
      await plain.request(request({ amount: 8 }));
      await until('the store watcher to see the other process', () => externals.length >= 1);
      stop();
      const entries = (await store.audit.listAuditEntries()).map(
        (r) => JSON.parse(r.entry) as Record<string, unknown>,
      );
      const grant = entries.find((e) => e.action === 'approval.grant');
      assert.ok(grant, 'approval recorded in the audit trail');
      assert.equal(grant.actor, 'console:alice');
      assert.equal(grant.target, 'erp.refund');
      assert.equal(grant.reason, 'ok');
      assert.equal((grant.detail as Record<string, unknown>).approvalId, mine.approvalId);
    } finally {
      await ledger.close();
    }
  });
});
