/**
 * Audit-trail benchmark: durable appends per second (group commit, SQLite WAL + synchronous=FULL, and
 * PostgreSQL when reachable), the latency one append adds (p50/p99) alone and under load, and the
 * latency the audit stages add per call (write-ahead intent + outcome, both durable before the
 * answer) around a no-op upstream at concurrency 1 and 64. Used by `npm run bench` (phase `audit`)
 * and `node dist/bench/audit/run.js`.
 *
 * @example
 * const results = await runAuditBench({ entries: 5000, samples: 500 });
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { RequestAuditEvent } from '../../src/audit/audit-entry.js';
import { generateAuditKey } from '../../src/audit/audit-key.js';
import { AuditLedger } from '../../src/audit/audit-ledger.js';
import { compose } from '../../src/gateway/compose.js';
import type { GatewayContext } from '../../src/gateway/gateway-context.js';
import { auditStage } from '../../src/gateway/stages/audit-stage.js';
import { upstreamTiming } from '../../src/gateway/stages/upstream-timing-stage.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

/** One audit key for every ledger of a run: they share a store, and a ledger verifies the trail it extends. */
const BENCH_KEY = generateAuditKey();
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface AuditBenchOptions {
  /** Entries appended by the throughput measure (default 20,000). */
  entries?: number;
  /** Concurrent writers / calls (default 64). */
  concurrency?: number;
  /** Samples per latency measure (default 2,000). */
  samples?: number;
  /** Also measure PostgreSQL at 127.0.0.1:5432 (default true). */
  postgres?: boolean;
}

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
    key: BENCH_KEY,
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
    key: BENCH_KEY,
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

/**
 * Per-call latency through compose() with and without the audit stages (audit outermost, upstream
 * timing innermost: a durable intent entry before the upstream, a durable outcome entry before the
 * answer), around a no-op upstream, with `concurrency` calls in flight.
 */
async function stageOverhead(store: Store, samples: number, concurrency: number) {
  const ledger = await AuditLedger.open({ repository: store.audit, tenant: 'acme', key: BENCH_KEY });
  const terminal = async () => ({
    content: [{ type: 'text', text: 'invoice INV-2024-0042: 120.00 EUR, paid' }],
  });
  const bare = compose([], terminal);
  const audited = compose([auditStage({ ledger }), upstreamTiming()], terminal);
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
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < samples) {
          next += 1;
          const t0 = performance.now();
          await handler(ctx(next));
          out.push(performance.now() - t0);
        }
      }),
    );
    return { ...stats(out), callsPerSecond: Math.round(samples / ((performance.now() - started) / 1000)) };
  };
  const without = await measure(bare);
  const headBefore = ledger.head.seq;
  const withAudit = await measure(audited);
  const durableEntries = ledger.head.seq - headBefore;
  await ledger.close();
  return {
    concurrency,
    withoutAudit: without,
    withAudit,
    durableEntriesPerCall: round(durableEntries / samples),
    addedP50Ms: round(withAudit.p50Ms - without.p50Ms),
    addedP99Ms: round(withAudit.p99Ms - without.p99Ms),
  };
}

/** Throughput, solo append latency and per-call overhead (alone and concurrent) on one store. */
async function measureStore(store: Store, o: Required<AuditBenchOptions>, durability: string) {
  return {
    durability,
    throughput: await throughput(store, o.entries, o.concurrency),
    soloAppendLatency: await soloLatency(store, o.samples),
    perCall: [await stageOverhead(store, o.samples, 1), await stageOverhead(store, o.samples, o.concurrency)],
  };
}

async function sqliteRun(dir: string, o: Required<AuditBenchOptions>) {
  const store = await openStore({ url: `sqlite:${join(dir, 'bench.db')}` });
  try {
    return await measureStore(store, o, 'SQLite WAL, synchronous=FULL, commit before append resolves');
  } finally {
    await store.close();
  }
}

async function postgresRun(o: Required<AuditBenchOptions>) {
  const schema = `airlock_bench_${randomBytes(4).toString('hex')}`;
  let store: Store;
  try {
    store = await openStore({ url: PG_URL, schema });
  } catch (err) {
    return { skipped: `PostgreSQL not reachable: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    return await measureStore(
      store,
      o,
      'PostgreSQL COMMIT (synchronous_commit as configured on the server) before append resolves',
    );
  } finally {
    await store.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

/** Runs every audit measure; see the module comment. */
export async function runAuditBench(opts: AuditBenchOptions = {}) {
  const o: Required<AuditBenchOptions> = {
    entries: opts.entries ?? 20_000,
    concurrency: opts.concurrency ?? 64,
    samples: opts.samples ?? 2_000,
    postgres: opts.postgres ?? true,
  };
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-audit-'));
  try {
    return {
      benchmark: 'audit',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      entries: o.entries,
      concurrency: o.concurrency,
      latencySamples: o.samples,
      sqlite: await sqliteRun(dir, o),
      ...(o.postgres ? { postgres: await postgresRun(o) } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One line per store for logs: entries/s and the latency added per call at concurrency 1 and N. */
export function summarizeAuditBench(r: Awaited<ReturnType<typeof runAuditBench>>): string[] {
  type Measured = {
    throughput?: { entriesPerSecond: number };
    perCall?: Array<{ concurrency: number; addedP50Ms: number; addedP99Ms: number }>;
  };
  const stores: Array<[string, Measured]> = [
    ['SQLite', r.sqlite],
    ...(r.postgres ? [['PostgreSQL', r.postgres] as [string, Measured]] : []),
  ];
  return stores.map(([name, s]) => {
    if (!s.throughput || !s.perCall) return `audit ${name}: skipped`;
    const calls = s.perCall
      .map((c) => `c${c.concurrency} +${c.addedP50Ms}/${c.addedP99Ms} ms p50/p99`)
      .join(', ');
    return `audit ${name}: ${s.throughput.entriesPerSecond} durable entries/s; added per call ${calls}`;
  });
}
