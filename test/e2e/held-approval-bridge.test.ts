/**
 * A call held for a human approval for two minutes completes through the spawned `airlock bridge`
 * (stdio, SDK client) and through the agent library (`connectToTenant`), across relay and connector:
 * the connector keeps both connections alive for `approvals.holdMs` — progress notifications for the
 * agent that sent a progress token, an SSE answer with keep-alive comments for the one that did not —
 * and no agent-side timeout (undici's headers timeout, the MCP request timeout) decides before the
 * supervisor does.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, type Progress } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { connectToTenant } from '../../src/agent/index.js';
import { localApprover } from '../../src/approvals/approval-principal.js';
import { until, untilSettled } from '../fixtures/wait-until.js';
import { everythingUpstream, type Stack, startStack } from './airlock-stack.js';
import { testPolicy } from './test-policy.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The judged scenario: a supervisor decides after two minutes. */
const HELD_SECONDS = 120;

const POLICY = testPolicy({
  tiers: { 'everything.echo': 'approve' },
  // The budget stage's upstream timeout (default 60 s) still runs during the approval hold
  // (src/gateway/stages/budget-stage.ts); until it stops at the hold, it must exceed the hold.
  limits: { upstreamTimeoutMs: 300_000 },
});

let stack: Stack;

before(async () => {
  stack = await startStack({
    policy: POLICY,
    connector: { approvals: { holdMs: 240_000 } },
    upstreams: () => ({ everything: everythingUpstream() }),
  });
});

after(async () => {
  await stack?.close();
});

/** A desktop client (SDK, stdio) on a spawned `airlock bridge` with the tenant's agent identity. */
async function desktopOnBridge(): Promise<{ desktop: Client; stderr: () => string }> {
  const acme = stack.tenant('acme');
  const files = {
    ca: join(stack.dir, 'ca.pem'),
    cert: join(stack.dir, 'a.pem'),
    key: join(stack.dir, 'a.key'),
  };
  await writeFile(files.ca, acme.agent.caPem);
  await writeFile(files.cert, acme.agent.certPem);
  await writeFile(files.key, acme.agent.keyPem, { mode: 0o600 });
  const conn = acme.connection();
  const connect = `${conn.connectTo?.host}:${conn.connectTo?.port}`;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      CLI,
      'bridge',
      '--url',
      conn.url,
      '--ca',
      files.ca,
      '--cert',
      files.cert,
      '--key',
      files.key,
      '--connect',
      connect,
    ],
    stderr: 'pipe',
  });
  let bridgeErr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    bridgeErr += d.toString();
  });
  const desktop = new Client({ name: 'desktop', version: '1.0.0' });
  try {
    await desktop.connect(transport);
  } catch (err) {
    await transport.close(); // ends the bridge process
    throw new Error(`the bridge did not connect: ${String(err)}\n${bridgeErr}`);
  }
  return { desktop, stderr: () => bridgeErr };
}

/** Resolves once the hold has lasted `seconds` as the agent sees it (its progress notifications). */
function heldFor(seconds: number): {
  progress: Progress[];
  onprogress: (p: Progress) => void;
  reached: Promise<void>;
} {
  const progress: Progress[] = [];
  let reached!: () => void;
  const promise = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const onprogress = (p: Progress) => {
    progress.push(p);
    if (p.progress >= seconds) reached();
  };
  return { progress, onprogress, reached: promise };
}

test('a call held two minutes for approval completes through airlock bridge and connectToTenant', async () => {
  const acme = stack.tenant('acme');
  const { desktop, stderr } = await desktopOnBridge();
  try {
    const library = await connectToTenant(acme.connection(), { name: 'library-agent', version: '1.0.0' });
    try {
      await heldCallsComplete(desktop, library, stderr);
    } finally {
      await library.close();
    }
  } finally {
    await desktop.close();
  }
});

/** Both agents call the approval-tier tool; the supervisor approves after the hold; both answers arrive. */
async function heldCallsComplete(desktop: Client, library: Client, stderr: () => string): Promise<void> {
  const acme = stack.tenant('acme');
  await until('the upstream catalog', async () =>
    (await desktop.listTools()).tools.some((t) => t.name === 'everything.echo'),
  );
  // The desktop client asks for progress: the hold's progress keeps resetting a 30 s request timeout.
  const hold = heldFor(HELD_SECONDS);
  const { progress } = hold;
  const viaBridge = desktop.callTool(
    { name: 'everything.echo', arguments: { message: 'via bridge' } },
    { timeout: 30_000, resetTimeoutOnProgress: true, maxTotalTimeout: 300_000, onprogress: hold.onprogress },
  );
  // The library agent asks for no progress: its answer must still start at once (SSE keep-alive).
  const viaLibrary = library.callTool(
    { name: 'everything.echo', arguments: { message: 'via library' } },
    { timeout: 300_000 },
  );
  const approvals = acme.connector.store.approvals;
  const pending = await until('two pending approvals', async () => {
    const list = await approvals.listApprovals({ status: ['pending'], tool: 'everything.echo' });
    return list.length === 2 ? list : undefined;
  });
  // The supervisor decides once the held call has waited two minutes (as the agent sees it).
  await untilSettled(`${HELD_SECONDS} s of hold`, hold.reached, (HELD_SECONDS + 60) * 1000);
  const queue = acme.connector.governance.approvals;
  for (const record of pending) await queue.approve(record.id, localApprover(), 'checked');

  const [bridged, direct] = await Promise.all([viaBridge, viaLibrary]);
  assert.notEqual(bridged.isError, true, `bridge: ${JSON.stringify(bridged)} ${stderr()}`);
  assert.notEqual(direct.isError, true, JSON.stringify(direct));
  assert.match(JSON.stringify(bridged.content), /via bridge/);
  assert.match(JSON.stringify(direct.content), /via library/);
  assert.ok(progress.length >= HELD_SECONDS / 5 - 2, `progress while held: ${progress.length}`);
  assert.match(String(progress.at(-1)?.message), /Waiting for a human approval/);
  // Both approvals were consumed by exactly these calls.
  const left = await approvals.listApprovals({ status: ['pending'], tool: 'everything.echo' });
  assert.equal(left.length, 0);
}
