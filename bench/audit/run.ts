/**
 * Audit-trail benchmark: durable appends per second (group commit, SQLite WAL + synchronous=FULL, and
 * PostgreSQL when reachable) and the latency one append adds to a call (p50/p99), alone and under
 * load, plus the latency the audit gateway stage adds around a no-op upstream.
 *
 * Usage: npm run build && node dist/bench/audit/run.js [--entries 20000] [--concurrency 64] [--no-postgres]
 * Writes bench/results/audit.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { RequestAuditEvent } from '../../src/audit/audit-entry.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { auditStage } from '../../src/audit/audit-stage.js';
import { compose } from '../../src/gateway/compose.js';
import type { GatewayContext } from '../../src/gateway/gateway-context.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const ENTRIES = arg('entries', 20_000);
const CONCURRENCY = arg('concurrency', 64);
const LATENCY_SAMPLES = arg('samples', 2_000);
const WITH_PG = !process.argv.includes('--no-postgres');

function event(i: number): RequestAuditEvent {
  return {
    kind: 'request',
    agent: {
      name: 'claims-bot',
      spiffeId: 'spiffe://acme.airlock/agent/claims-bot',
      authenticatedBy: 'mtls',
    },
    endUser: null,
    session: 'b7c4e1d2-session',
    requestId: i,
    method: 'tools/call',
    tool: 'erp.lookup_invoice',
    decision: 'allow',
    code: null,
    reason: null,
    stages: [
      { stage: 'authenticate', outcome: 'allow' },
      { stage: 'authorize', outcome: 'allow' },
    ],
    arguments: { redacted: { invoice: '[string:13]', customer: '[string:12]' }, sha256: 'a'.repeat(64) },
    result: { redacted: { content: [{ type: '[string:4]', text: '[string:180]' }] }, sha256: 'b'.repeat(64) },
    error: null,
    upstreamLatencyMs: 12.5,
    durationMs: 13.1,
    requestBytes: 180,
    responseBytes: 420,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[idx] ?? Number.NaN);
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
  };
}

async function ledgerOn(store: Store): Promise<AuditLedger> {
  return AuditLedger.open({
    repository: store.audit,
    tenant: 'acme',
    key: generateAuditKey(),
    checkpointIntervalMs: 0,
  });
}

/** Entries/s with `concurrency` writers each appending as soon as its previous append resolved. */
async function throughput(store: Store, entries: number, concurrency: number) {
  let transactions = 0;
  const repo = store.audit;
  const counting = new Proxy(repo, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === 'appendAudit') {
        return (batch: Parameters<typeof repo.appendAudit>[0]) => {
          transactions += 1;
          return target.appendAudit(batch);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const counted = await AuditLedger.open({
    repository: counting,
    tenant: 'acme',
    key: generateAuditKey(),
    checkpointIntervalMs: 0,
  });
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < entries) {
        next += 1;
        const t0 = performance.now();
        await counted.append(event(next));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await counted.close();
  return {
    entries,
    concurrency,
    seconds: round(seconds),
    entriesPerSecond: Math.round(entries / seconds),
    transactions,
    entriesPerTransaction: round(entries / transactions),
    appendLatencyUnderLoad: stats(latencies),
  };
}

/** Latency of one append when nothing else is going on (the cost a lone call pays). */
async function soloLatency(store: Store, samples: number) {
  const ledger = await ledgerOn(store);
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await ledger.append(event(i));
    latencies.push(performance.now() - t0);
  }
  await ledger.close();
  return stats(latencies);
}

/** Per-call latency through compose() with and without the audit stage, around a no-op upstream. */
async function stageOverhead(store: Store, samples: number) {
  const ledger = await ledgerOn(store);
  const terminal = async () => ({
    content: [{ type: 'text', text: 'invoice INV-2024-0042: 120.00 EUR, paid' }],
  });
  const bare = compose([], terminal);
  const audited = compose([auditStage({ ledger })], terminal);
  const ctx = (i: number): GatewayContext => ({
    identity: {
      name: 'claims-bot',
      spiffeId: 'spiffe://acme.airlock/agent/claims-bot',
      certSerial: 'ab12',
      authenticatedBy: 'mtls',
    },
    era: 'legacy',
    sessionId: 'b7c4e1d2-session',
    method: 'tools/call',
    params: { name: 'erp.lookup_invoice', arguments: { invoice: 'INV-2024-0042', customer: 'Ada Lovelace' } },
    requestId: i,
    signal: new AbortController().signal,
    progressToken: undefined,
    sendProgress: async () => {},
    decisions: [],
    startedAt: Date.now(),
  });
  const measure = async (handler: typeof bare) => {
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await handler(ctx(i));
      out.push(performance.now() - t0);
    }
    return stats(out);
  };
  const without = await measure(bare);
  const withAudit = await measure(audited);
  await ledger.close();
  return {
    withoutAudit: without,
    withAudit,
    addedP50Ms: round(withAudit.p50Ms - without.p50Ms),
    addedP99Ms: round(withAudit.p99Ms - without.p99Ms),
  };
}

async function sqliteRun(dir: string, name: string) {
  const store = await openStore({ url: `sqlite:${join(dir, `${name}.db`)}` });
  try {
    return {
      durability: 'SQLite WAL, synchronous=FULL, commit before append resolves',
      throughput: await throughput(store, ENTRIES, CONCURRENCY),
      soloAppendLatency: await soloLatency(store, LATENCY_SAMPLES),
      stage: await stageOverhead(store, LATENCY_SAMPLES),
    };
  } finally {
    await store.close();
  }
}

async function postgresRun() {
  const schema = `airlock_bench_${randomBytes(4).toString('hex')}`;
  let store: Store;
  try {
    store = await openStore({ url: PG_URL, schema });
  } catch (err) {
    return { skipped: `PostgreSQL not reachable: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    return {
      durability: 'PostgreSQL COMMIT (synchronous_commit as configured on the server) before append resolves',
      throughput: await throughput(store, ENTRIES, CONCURRENCY),
      soloAppendLatency: await soloLatency(store, LATENCY_SAMPLES),
    };
  } finally {
    await store.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-audit-'));
try {
  const results = {
    benchmark: 'audit',
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    entries: ENTRIES,
    concurrency: CONCURRENCY,
    latencySamples: LATENCY_SAMPLES,
    sqlite: await sqliteRun(dir, 'bench'),
    ...(WITH_PG ? { postgres: await postgresRun() } : {}),
  };
  const out = join(ROOT, 'bench', 'results', 'audit.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
  console.log(`written to ${out}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
