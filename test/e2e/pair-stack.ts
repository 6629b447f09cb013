/**
 * A connector pair as real processes: one `airlock relay`, connector A (enrolled), connector B (joined
 * with the sealed member bundle from `connector add --bundle` on A), both on one fresh PostgreSQL schema
 * (`store: postgres://…?schema=<fresh>`), each with its own policy file and a direct agent listener so
 * that a test can choose which member serves a call.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import pg from 'pg';
import { stringify } from 'yaml';
import { connectToTenant, type TenantConnection } from '../../src/agent/index.js';
import { everythingUpstream } from './airlock-stack.js';
import { type Running, runCli, startCli } from './cli-process.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const PASSPHRASE = 'pair test passphrase, long enough';
export type Member = 'A' | 'B';
/** How long a member's `connector run` may take to print its ready line. */
const MEMBER_START_TIMEOUT_MS = 180_000;

export interface PairStack {
  dir: string;
  schema: string;
  relayPort: number;
  config: Record<Member, string>;
  policyFile: Record<Member, string>;
  member: Record<Member, Running>;
  /** Starts (or restarts) a member's `connector run`. */
  start(m: Member): Promise<Running>;
  /** Issues an agent identity (through A's config: one store, one tenant CA). */
  issue(agent: string): Promise<void>;
  /** How `agent` reaches the tenant: through the relay, or straight to one member's agent listener. */
  conn(via: 'relay' | Member, agent?: string): Promise<TenantConnection>;
  connect(via: 'relay' | Member, agent?: string): Promise<Client>;
  /** A counter from a member's `/metrics` (summed over its labels matching `labels`). */
  metric(m: Member, name: string, labels?: string): Promise<number>;
  /** A query on the pair's schema. */
  sql<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

function connectorConfig(dir: string, m: Member, relayPort: number, storeUrl: string, extra: object) {
  return stringify({
    dataDir: join(dir, `member-${m}`),
    store: storeUrl,
    relay: {
      url: `tls://relay.localhost:${relayPort}`,
      connect: `127.0.0.1:${relayPort}`,
      caFile: join(dir, 'relay', 'identity', 'ca.pem'),
      tunnels: 2,
    },
    admin: { listen: '127.0.0.1:0' },
    agents: { listen: '127.0.0.1:0' },
    policy: { file: join(dir, `policy-${m}.yaml`) },
    upstreams: { everything: everythingUpstream() },
    ...extra,
  });
}

/** What the stack's parts share while it is built. */
interface PairState {
  dir: string;
  relayPort: number;
  relayDir: string;
  config: Record<Member, string>;
  members: Partial<Record<Member, Running>>;
}

/** Starts a member and waits until its tunnels are up at the relay. */
async function startMember(state: PairState, m: Member): Promise<Running> {
  // A shared, busy test machine can take far longer than usual to start a connector process.
  const running = await startCli(['connector', 'run', '-c', state.config[m]], MEMBER_START_TIMEOUT_MS);
  state.members[m] = running;
  const adminUrl = running.ready.adminUrl as string;
  await within(15_000, `${m}'s tunnels are up`, async () => {
    const text = await (await fetch(`${adminUrl}/metrics`)).text();
    return /^airlock_connector_tunnels\{state="up"\} [1-9]/m.test(text) ? true : undefined;
  });
  return running;
}

/** `connector add --bundle` on A, a new token, `connector join` with B's config. */
async function joinB(state: PairState): Promise<void> {
  const bundle = join(state.dir, 'member.age');
  const passFile = join(state.dir, 'passphrase');
  await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  await runCli(['connector', 'add', '-c', state.config.A, '--bundle', bundle, '--passphrase-file', passFile]);
  const token = (await runCli(['tenant', 'token', 'acme', '--data-dir', state.relayDir])).trim();
  const join_ = [
    'join',
    '-c',
    state.config.B,
    '--bundle',
    bundle,
    '--passphrase-file',
    passFile,
    '-t',
    token,
  ];
  await runCli(['connector', ...join_]);
}

/** Starts relay, A, then B joined from A's bundle. `policy` is written to both members' files. */
export async function startPair(policy: string, extra: object = {}): Promise<PairStack> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-pair-'));
  const schema = `pair_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const db = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await db.connect();
  const members: Partial<Record<Member, Running>> = {};
  let relay: Running | undefined;
  const cleanup = async () => {
    for (const r of [members.A, members.B, relay]) await r?.kill('SIGKILL');
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.end();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const relayDir = join(dir, 'relay');
    const listen = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--data-dir', relayDir];
    relay = await startCli(['relay', '--domain', 'localhost', ...listen]);
    const relayPort = relay.ready.port as number;
    const added = await runCli(['tenant', 'add', 'acme', '--data-dir', relayDir]);
    const state: PairState = {
      dir,
      relayPort,
      relayDir,
      config: { A: join(dir, 'A.yaml'), B: join(dir, 'B.yaml') },
      members,
    };
    const policyFile = { A: join(dir, 'policy-A.yaml'), B: join(dir, 'policy-B.yaml') };
    for (const m of ['A', 'B'] as const) {
      await writeFile(policyFile[m], policy);
      const yaml = connectorConfig(dir, m, relayPort, `${PG_URL}?schema=${schema}`, extra);
      await writeFile(state.config[m], yaml);
    }
    await runCli(['connector', 'enroll', '-c', state.config.A, '-t', added.trim().split('\n').pop() ?? '']);
    await startMember(state, 'A');
    await joinB(state);
    await startMember(state, 'B');
    return pairStack(state, { schema, policyFile, db, close: cleanup });
  } catch (err) {
    const logs = [relay, members.A, members.B].map((r) => r?.stderr() ?? '').join('\n');
    await cleanup();
    throw Object.assign(err as Error, { logs });
  }
}

async function pairStack(
  state: PairState,
  more: { schema: string; policyFile: Record<Member, string>; db: pg.Client; close(): Promise<void> },
): Promise<PairStack> {
  const { dir, relayPort, config, members } = state;
  const caPem = await readFile(join(dir, 'member-A', 'tenant', 'ca.pem'), 'utf8');
  const stack: PairStack = {
    dir,
    schema: more.schema,
    relayPort,
    config,
    policyFile: more.policyFile,
    get member() {
      return members as Record<Member, Running>;
    },
    start: (m) => startMember(state, m),
    async issue(agent) {
      await runCli(['identity', 'issue', agent, '-c', config.A, '--out', join(dir, 'agents')]);
    },
    async conn(via, agent = 'agent-1') {
      const address =
        via === 'relay'
          ? { host: '127.0.0.1', port: relayPort }
          : (members[via]?.ready.agentsAddress as { host: string; port: number });
      return {
        url: `https://acme.localhost:${address.port}/mcp`,
        caPem,
        certPem: await readFile(join(dir, 'agents', `${agent}.cert.pem`), 'utf8'),
        keyPem: await readFile(join(dir, 'agents', `${agent}.key.pem`), 'utf8'),
        connectTo: address,
      };
    },
    async connect(via, agent) {
      return connectToTenant(await stack.conn(via, agent), { name: 'pair-agent', version: '1.0.0' });
    },
    async metric(m, name, labels = '') {
      const adminUrl = members[m]?.ready.adminUrl as string;
      const text = await (await fetch(`${adminUrl}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.split(' ').pop());
        else if (line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
      }
      return sum;
    },
    async sql(text, values) {
      return (await more.db.query(text, values)).rows;
    },
    close: more.close,
  };
  return stack;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `ms`. */
export async function within<T>(ms: number, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`not within ${ms} ms: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The `data.airlock` code of a refused call (tool errors and JSON-RPC errors), or undefined. */
export async function refusalOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    const result = (await call) as { isError?: boolean; content?: Array<{ text?: string }> };
    if (!result.isError) return undefined;
    return /AIRLOCK_[A-Z_]+/.exec(JSON.stringify(result))?.[0] ?? 'tool error';
  } catch (err) {
    const data = (err as { data?: { airlock?: string } }).data;
    return data?.airlock ?? /AIRLOCK_[A-Z_]+/.exec(String(err))?.[0] ?? String(err);
  }
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}
