/**
 * A connector with real traffic for the report tests: relay + enrolled connector (test/e2e harness)
 * with three upstreams (the sandboxed ERP over stdio, server-everything over stdio, an HTTP wiki
 * started here), two agents, two approvals (one approved, one denied), PII tokenized in results, a
 * kill switch pressed with the CLI and a drifted tool definition, plus an ungoverned MCP server on
 * loopback for discovery.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { connectToTenant } from '../../src/agent/index.js';
import { issueAgentIdentity } from '../../src/identity/tenant-pki.js';
import {
  erpUpstream,
  everythingUpstream,
  type Stack,
  startStack,
  type TenantUnderTest,
} from '../e2e/airlock-stack.js';
import { CLI } from '../e2e/cli-process.js';
import { type HttpMcpServer, startHttpMcpServer } from './http-mcp-server.js';

export const REPORT_POLICY = `version: 1
catalog: { mode: tofu }
identities:
  - name: agent-1
    roles: [clerk]
  - name: agent-2
    roles: [clerk, publisher]
roles:
  clerk:
    description: Reads customers and wiki pages
    tools: ["erp.search_customers", "wiki.lookup", "wiki.publish", "everything.echo"]
  publisher:
    description: Publishes pages
    tools: ["wiki.*"]
tools:
  - match: "wiki.publish"
    tier: approve
  - match: "**"
    tier: auto
limits:
  rate: { perSecond: 1000, burst: 1000 }
  turnBudget: 100000
`;

/** The ungoverned server's name: hostile markup that the report must show as text. */
export const SHADOW_NAME = 'shadow-crm<script>alert(1)</script>';

export interface ReportStack {
  stack: Stack;
  acme: TenantUnderTest;
  wiki: HttpMcpServer;
  shadow: HttpMcpServer;
  /** Texts the agents received (to show PII came back tokenized). */
  answers: string[];
  close(): Promise<void>;
}

/** Runs the real CLI; resolves with its exit code and output. */
export function airlock(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: 180_000, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

function text(result: unknown): string {
  const content = (result as { content?: Array<{ text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  try {
    return text(await client.callTool({ name, arguments: args }));
  } catch (err) {
    return `ERROR ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function traffic(r: ReportStack, agent2: { certPem: string; keyPem: string }): Promise<void> {
  const { acme, answers } = r;
  const one = await connectToTenant(acme.connection(), { name: 'agent-1', version: '1' });
  const two = await connectToTenant(acme.connection(agent2), { name: 'agent-2', version: '1' });
  try {
    answers.push(await call(one, 'erp.search_customers', { query: 'e', limit: 3 }));
    answers.push(await call(one, 'wiki.lookup', { page: 'home' }));
    answers.push(await call(two, 'everything.echo', { message: 'hello' }));
    answers.push(await call(two, 'wiki.publish', { page: 'p1' }));
    answers.push(await call(one, 'wiki.publish', { page: 'p2' }));
    const store = acme.connector.store;
    const pending = await until(async () => {
      const rows = await store.approvals.listApprovals({ status: ['pending'] });
      return rows.length >= 2 ? rows : undefined;
    }, 'two pending approvals');
    for (const row of pending) {
      const approve = row.identity === 'agent-2';
      await store.approvals.decideApproval(row.id, {
        status: approve ? 'approved' : 'denied',
        decidedBy: 'console:sam',
        reason: approve ? 'page reviewed' : 'not before the release',
        decidedAt: Date.now(),
      });
    }
    const off = await airlock([
      'tools',
      'disable',
      'everything.echo',
      '--reason',
      'incident 42',
      '--by',
      'ops',
      '--config',
      acme.configFile,
    ]);
    if (off.code !== 0) throw new Error(`tools disable failed: ${off.stderr}`);
    answers.push(await call(two, 'everything.echo', { message: 'after the kill switch' }));
  } finally {
    await one.close();
    await two.close();
  }
}

/** Starts everything and runs the traffic. */
export async function startReportStack(): Promise<ReportStack> {
  const wiki = await startHttpMcpServer('wiki');
  const shadow = await startHttpMcpServer(SHADOW_NAME);
  let stack: Stack | undefined;
  try {
    stack = await startStack({
      policy: REPORT_POLICY,
      connector: { approvals: { holdMs: 0 } },
      upstreams: (dir) => ({
        erp: erpUpstream(`${dir}-erp`),
        everything: everythingUpstream(),
        wiki: { url: wiki.url },
      }),
    });
    const acme = stack.tenant('acme');
    const issued = await issueAgentIdentity(
      acme.connector.pki,
      acme.connector.store,
      'agent-2',
      join(stack.dir, 'acme', 'agents'),
    );
    const agent2 = {
      certPem: await readFile(issued.certFile, 'utf8'),
      keyPem: await readFile(issued.keyFile, 'utf8'),
    };
    const s = stack;
    const r: ReportStack = {
      stack: s,
      acme,
      wiki,
      shadow,
      answers: [],
      async close() {
        await s.close();
        await wiki.close();
        await shadow.close();
      },
    };
    await traffic(r, agent2);
    wiki.drift();
    await acme.connector.catalog.refresh('wiki');
    await until(async () => {
      const pin = await acme.connector.store.catalog.getToolPin('wiki.lookup');
      return pin && pin.approvedHash !== null && pin.observedHash !== pin.approvedHash ? pin : undefined;
    }, 'the drifted wiki.lookup definition');
    return r;
  } catch (err) {
    await stack?.close();
    await wiki.close();
    await shadow.close();
    throw err;
  }
}
