/**
 * Pending approvals survive a restart: a held call that outlives the hold time is answered with the
 * approval id; the connector (store, queue, gateway, endpoint) is shut down and started again on the
 * same database; the request is still pending; a supervisor approves it; the agent's retry of the
 * same call runs exactly once, and a third identical call needs a new approval.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { consoleApprover } from '../../src/approvals/approval-principal.js';
import {
  type CertifiedKey,
  createCertificateAuthority,
  issueServerCertificate,
} from '../../src/identity/pki.js';
import { resultText, startHarness } from '../console/console-harness.js';
import { TENANT_HOST } from '../fixtures/tenant-tls-kit.js';

let dir: string;
let ca: CertifiedKey;
let server: CertifiedKey;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-approval-restart-'));
  ca = await createCertificateAuthority({ commonName: 'restart test CA' });
  server = await issueServerCertificate(ca, { commonName: TENANT_HOST, dnsNames: [TENANT_HOST] });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('a held call that outlives the hold time gets the approval id; the request survives a restart; the retry runs once after approval', async () => {
  const storeUrl = `sqlite:${join(dir, 'connector.db')}`;
  const first = await startHarness({
    storeUrl,
    dir: join(dir, 'run1'),
    auditKeyDir: dir,
    ca,
    server,
    queue: { holdMs: 800 },
  });
  let approvalId: string;
  const args = { text: 'refund 250 EUR on claim C-17' };
  let creds: Awaited<ReturnType<typeof first.issueAgent>>;
  try {
    creds = await first.issueAgent('claims-bot');
    const client = await first.connect(creds);
    const progress: number[] = [];
    const started = Date.now();
    const held = await client.callTool(
      { name: 'fixture.echo', arguments: args },
      { onprogress: (p) => progress.push(p.progress), timeout: 30_000 },
    );
    assert.ok(Date.now() - started >= 700, 'the call was held for the hold time');
    assert.equal(held.isError, true);
    const text = resultText(held);
    const match = /approval id (apr_[0-9a-f]{24})/.exec(text);
    assert.ok(match?.[1], `the answer names the approval id: ${text}`);
    approvalId = match[1];
    assert.match(text, /retrying the same call/i);
    assert.ok(progress.length >= 1, 'progress notifications kept the call alive');
    assert.equal((await first.queue.pending()).length, 1);
  } finally {
    await first.close();
  }

  // The connector restarts on the same database.
  const second = await startHarness({
    storeUrl,
    dir: join(dir, 'run2'),
    auditKeyDir: dir,
    ca,
    server,
    queue: { holdMs: 800 },
  });
  try {
    const pending = await second.queue.pending();
    assert.deepEqual(
      pending.map((p) => [p.id, p.identity, p.tool, JSON.parse(p.arguments)]),
      [[approvalId, 'claims-bot', 'fixture.echo', args]],
    );
    await second.queue.approve(approvalId, consoleApprover({ name: 'alice' }), 'claim checked');
    const client = await second.connect(creds);
    const retry = await client.callTool({ name: 'fixture.echo', arguments: args });
    assert.notEqual(retry.isError, true, resultText(retry));
    assert.deepEqual(retry.structuredContent, { echoed: args.text });
    const record = await second.queue.get(approvalId);
    assert.equal(record?.status, 'approved');
    assert.ok(record?.consumedAt, 'the approval was used');
    // Used exactly once: the same call again waits for a new approval.
    const third = await client.callTool({ name: 'fixture.echo', arguments: args });
    assert.equal(third.isError, true);
    const again = /approval id (apr_[0-9a-f]{24})/.exec(resultText(third))?.[1];
    assert.ok(again && again !== approvalId, 'a new approval request');
  } finally {
    await second.close();
  }
});
