/**
 * Gateway pipeline benchmark: the per-request cost of the whole policy pipeline — authenticate (store
 * lookup), budget, authorize, catalog (pin check, with the per-request catalog revision read), validate
 * (compiled JSON Schema, stripping) and tier — around a trivial terminal, with no network. The handler
 * is called directly, one request at a time, N times after a warm-up.
 *
 * Usage: npm run build && node dist/bench/pipeline/run.js [--calls 20000] [--warmup 2000]
 * Writes bench/results/pipeline.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolPinning } from '../../src/catalog/tool-pinning.js';
import { compose } from '../../src/gateway/compose.js';
import type { GatewayContext, GatewayIdentity, Handler, Stage } from '../../src/gateway/gateway-context.js';
import { authenticate } from '../../src/gateway/stages/authenticate-stage.js';
import { authorize } from '../../src/gateway/stages/authorize-stage.js';
import { budget } from '../../src/gateway/stages/budget-stage.js';
import { catalogStage } from '../../src/gateway/stages/catalog-stage.js';
import { tier } from '../../src/gateway/stages/tier-stage.js';
import { validate } from '../../src/gateway/stages/validate-stage.js';
import type { PolicyEngine } from '../../src/policy/policy-engine.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const CALLS = arg('calls', 20_000);
const WARMUP = arg('warmup', 2_000);

const POLICY = `
version: 1
catalog: { mode: tofu }
identities:
  - name: claims-bot
    roles: [claims]
roles:
  claims:
    tools: ["erp.*", "wiki.search"]
tools:
  - match: "erp.delete_*"
    tier: block
  - match: "erp.search_invoices"
    tier: auto
    schema:
      properties:
        limit: { maximum: 50 }
  - match: "erp.*"
    tier: approve
limits:
  rate: { perSecond: 1000000, burst: 1000000 }
  turnBudget: 1000000
`;

const TOOLS = [
  {
    name: 'erp.search_invoices',
    description: 'Searches invoices by customer, status and date range.',
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        customer: { type: 'string', maxLength: 200 },
        status: { enum: ['open', 'paid', 'overdue'] },
        from: { type: 'string', format: 'date' },
        to: { type: 'string', format: 'date' },
        limit: { type: 'integer', minimum: 1, maximum: 100 },
      },
      required: ['customer'],
    },
  },
  ...Array.from({ length: 30 }, (_, i) => ({
    name: `erp.tool_${i}`,
    description: `Tool number ${i}`,
    inputSchema: { type: 'object', properties: { id: { type: 'string' } } },
  })),
];

function percentile(sorted: number[], p: number): number {
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[idx] ?? Number.NaN) * 100) / 100;
}

async function measure(name: string, handler: Handler, identity: GatewayIdentity) {
  const makeCtx = (i: number): GatewayContext => ({
    identity,
    era: 'modern',
    sessionId: undefined,
    method: 'tools/call',
    params: {
      name: 'erp.search_invoices',
      arguments: { customer: 'ACME Corp', status: 'open', from: '2025-01-01', limit: 20, debug: i % 2 === 0 },
    },
    requestId: i,
    signal: new AbortController().signal,
    progressToken: undefined,
    sendProgress: async () => {},
    decisions: [],
    startedAt: Date.now(),
  });
  for (let i = 0; i < WARMUP; i++) await handler(makeCtx(i));
  const samples = new Float64Array(CALLS);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    const ctx = makeCtx(i);
    const t0 = process.hrtime.bigint();
    await handler(ctx);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const totalSec = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = [...samples].sort((a, b) => a - b);
  const result = {
    name,
    calls: CALLS,
    p50Us: percentile(sorted, 50),
    p90Us: percentile(sorted, 90),
    p99Us: percentile(sorted, 99),
    meanUs: Math.round((sorted.reduce((a, b) => a + b, 0) / sorted.length) * 100) / 100,
    callsPerSecond: Math.round(CALLS / totalSec),
    /** CPU time (user + system) of this process per call: the cost itself, less sensitive to other load. */
    cpuUsPerCall: Math.round(((cpu.user + cpu.system) / CALLS) * 100) / 100,
  };
  process.stdout.write(
    `${name.padEnd(58)} p50 ${String(result.p50Us).padStart(7)} µs  p99 ${String(result.p99Us).padStart(8)} µs  cpu ${String(result.cpuUsPerCall).padStart(6)} µs/call  ${result.callsPerSecond} calls/s\n`,
  );
  return result;
}

/** What every measured pipeline shares: the store with the agent's identity, the policy, two pinnings. */
interface PipelineParts {
  store: Store;
  identity: GatewayIdentity;
  policy: () => PolicyEngine;
  /** Catalog revision read per request (the default). */
  pinning: ToolPinning;
  /** Catalog state kept for 1 s. */
  pinningTtl: ToolPinning;
}

async function setUp(): Promise<PipelineParts> {
  const store = await openStore({ url: 'sqlite::memory:' });
  const identity: GatewayIdentity = {
    name: 'claims-bot',
    spiffeId: 'spiffe://acme.airlock/agent/claims-bot',
    certSerial: '0a1b2c3d',
    authenticatedBy: 'mtls',
  };
  await store.identities.addIdentity({
    name: identity.name,
    spiffeId: identity.spiffeId,
    certSerial: identity.certSerial,
    certFingerprint: 'ab'.repeat(32),
    notAfter: Date.now() + 86_400_000,
    createdAt: Date.now(),
  });
  const engine = parsePolicy(POLICY, 'bench-policy.yaml').engine;
  const live = { tools: () => TOOLS };
  const pinning = new ToolPinning({
    store: store.catalog,
    catalog: live,
    mode: () => 'tofu',
    pollIntervalMs: 0,
  });
  await pinning.start();
  const pinningTtl = new ToolPinning({
    store: store.catalog,
    catalog: live,
    mode: () => 'tofu',
    pollIntervalMs: 0,
    stateTtlMs: 1000,
  });
  await pinningTtl.start();
  return { store, identity, policy: () => engine, pinning, pinningTtl };
}

/** Each pipeline, from the bare terminal to the whole policy pipeline, measured in turn. */
async function measureAll(parts: PipelineParts) {
  const { store, identity, policy, pinning, pinningTtl } = parts;
  const terminal: Handler = async () => ({ content: [{ type: 'text', text: 'ok' }] });
  const full = (p: ToolPinning): Stage[] => [
    authenticate({ identities: store.identities }),
    budget({ policy }),
    authorize({ policy }),
    catalogStage({ pinning: p }),
    validate({ policy, definitions: p }),
    tier({ policy }),
  ];
  const noStoreReads = [
    budget({ policy }),
    authorize({ policy }),
    validate({ policy, definitions: pinning }),
    tier({ policy }),
  ];
  const authenticateOnly = [authenticate({ identities: store.identities })];
  return [
    await measure('terminal only (no stages)', compose([], terminal), identity),
    await measure(
      'authenticate only (store lookup per request)',
      compose(authenticateOnly, terminal),
      identity,
    ),
    await measure(
      'budget + authorize + validate + tier (no store reads)',
      compose(noStoreReads, terminal),
      identity,
    ),
    await measure(
      'full pipeline, catalog revision read per request (default)',
      compose(full(pinning), terminal),
      identity,
    ),
    await measure('full pipeline, catalog state TTL 1 s', compose(full(pinningTtl), terminal), identity),
  ];
}

async function writeReport(results: Awaited<ReturnType<typeof measureAll>>): Promise<void> {
  const report = {
    benchmark: 'gateway policy pipeline per-request cost (no network)',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    /** 1-minute load average when the run ended (other work on the machine inflates p99 and lowers calls/s). */
    loadAverage: loadavg()[0],
    store: 'SQLite in memory (better-sqlite3)',
    request:
      'tools/call erp.search_invoices with 5 arguments (one undeclared, stripped on every other call), 31 tools in the catalog',
    warmup: WARMUP,
    results,
  };
  const out = join(ROOT, 'bench', 'results', 'pipeline.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
}

async function main(): Promise<void> {
  const parts = await setUp();
  const results = await measureAll(parts);
  parts.pinning.close();
  parts.pinningTtl.close();
  await parts.store.close();
  await writeReport(results);
}

await main();
