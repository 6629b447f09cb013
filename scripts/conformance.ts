/**
 * Runs the server scenarios of the official MCP conformance suite (`@modelcontextprotocol/conformance`)
 * against an MCP endpoint, as a child process of its CLI, and parses the per-scenario `checks.json`
 * files it writes.
 *
 * `npm run conformance` (protocol transparency): for each target (./conformance-targets.ts: the project's
 * fixture, test/fixtures/conformance-server.ts, and `@modelcontextprotocol/server-everything` over
 * Streamable HTTP) runs the suite twice: (a) directly, and (b) through Airlock — agent → local forwarder
 * (src/agent/local-forwarder.ts, mTLS with an agent identity) → relay → tunnel → connector (gateway
 * pipeline, `mcp.namespace: none`) → the target as an HTTP upstream. It prints the comparisons, writes
 * `bench/results/conformance.json`, and exits non-zero when a target's passing sets differ beyond the
 * differences named for it (with their reasons), or the fixture fails directly.
 *
 *   node dist/scripts/conformance.js                    # both legs, the active suite
 *   node dist/scripts/conformance.js --url <url>        # only run against an existing endpoint
 *   node dist/scripts/conformance.js --suite all --scenario tools-list --scenario ping
 *   node dist/scripts/conformance.js --out /tmp/c.json --verbose
 *
 * A scenario passes when none of its checks is a FAILURE (WARNINGs, which the suite uses for SHOULDs,
 * are reported in `warned`). A scenario that produced no result file counts as failed.
 *
 * @example
 * const { passed, failed } = await runConformance('http://127.0.0.1:3000/mcp', { scenarios: ['tools-list'] });
 * const airlock = await startThroughAirlock(fixture.url);
 * const through = await runConformance(airlock.url, { scenarios: ['tools-list'] });
 * compareConformance(direct, through).samePassingSet;
 * await airlock.close();
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compareConformance, failureLines, formatComparison, legReport } from './conformance-compare.js';
import { type ConformanceTarget, startEverythingTarget, startFixtureTarget } from './conformance-targets.js';
import { startThroughAirlock, type ThroughAirlock } from './conformance-through-airlock.js';

/** Upper bound for one run of the conformance CLI before it is killed. */
export const DEFAULT_CONFORMANCE_TIMEOUT_MS = 5 * 60 * 1000;

/** CLI runs at once when scenarios are given one by one (sequential: results stay comparable). */
export const DEFAULT_CONFORMANCE_CONCURRENCY = 1;

export type ConformanceSuite = 'active' | 'all' | 'pending';

export interface ConformanceOptions {
  /** Run only these scenarios (one CLI run each). Default: the whole `suite`. */
  scenarios?: string[];
  /** Suite when `scenarios` is not given. Default `active` (the suite's own default). */
  suite?: ConformanceSuite;
  /**
   * With `scenarios`: how many CLI runs (one per scenario) go at once. Default
   * {@link DEFAULT_CONFORMANCE_CONCURRENCY}. A whole suite is always one run.
   */
  concurrency?: number;
  /** Kill a CLI run after this long. Default {@link DEFAULT_CONFORMANCE_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Keep the result files here instead of a temporary directory that is removed afterwards. */
  outputDir?: string;
  /** Receives the CLI's stdout/stderr as it runs (default: discarded). */
  onOutput?: (chunk: string) => void;
  /** Extra environment for the CLI process, e.g. `NODE_EXTRA_CA_CERTS` to trust a tenant CA. */
  env?: Record<string, string>;
}

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';

export interface ConformanceCheck {
  id: string;
  name: string;
  description: string;
  status: CheckStatus;
  errorMessage?: string;
  [key: string]: unknown;
}

export interface ScenarioResult {
  scenario: string;
  passed: boolean;
  checks: ConformanceCheck[];
}

export interface ConformanceResult {
  passed: string[];
  failed: string[];
  /** Passed scenarios that reported WARNING checks. */
  warned: string[];
  raw: { scenarios: ScenarioResult[]; exitCodes: number[]; output: string };
}

const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

function conformanceCli(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('@modelcontextprotocol/conformance/package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as { bin: { conformance: string } };
  return join(dirname(pkgPath), pkg.bin.conformance);
}

/**
 * The conformance CLI imports `globSync` from `fs` (Node 22+) for a subcommand we do not use. On older
 * Node, a loader hook serves the CLI an `fs` with a stub `globSync` so that the module links.
 */
function nodeCompatArgs(): string[] {
  if (typeof (fs as { globSync?: unknown }).globSync === 'function') return [];
  const shim =
    'export * from "node:fs"; import fs from "node:fs"; export default fs;' +
    ' export function globSync() { throw new Error("fs.globSync needs Node 22"); }';
  const hooks =
    `const SHIM = ${JSON.stringify(`data:text/javascript,${encodeURIComponent(shim)}`)};` +
    ' export async function resolve(specifier, context, next) {' +
    "  if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL?.includes('/@modelcontextprotocol/conformance/'))" +
    '    return { url: SHIM, shortCircuit: true };' +
    '  return next(specifier, context); }';
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  return ['--import', `data:text/javascript,${encodeURIComponent(register)}`];
}

function runCli(
  args: string[],
  timeoutMs: number,
  onOutput: (chunk: string) => void,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeCompatArgs(), conformanceCli(), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      onOutput(text);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

async function readResults(dir: string): Promise<Map<string, ConformanceCheck[]>> {
  const results = new Map<string, ConformanceCheck[]>();
  for (const entry of (await readdir(dir)).sort()) {
    const scenario = RESULT_DIR.exec(entry)?.[1];
    if (scenario === undefined) continue;
    try {
      const checks = JSON.parse(
        await readFile(join(dir, entry, 'checks.json'), 'utf8'),
      ) as ConformanceCheck[];
      results.set(scenario, checks);
    } catch {
      // A scenario that left no readable checks.json is reported as failed below.
    }
  }
  return results;
}

/**
 * Runs the conformance server scenarios against `url`.
 *
 * @example
 * const result = await runConformance(url, { suite: 'all' });
 * if (result.failed.length) console.error(result.failed);
 */
export async function runConformance(url: string, opts: ConformanceOptions = {}): Promise<ConformanceResult> {
  const outDir = opts.outputDir ?? (await mkdtemp(join(tmpdir(), 'airlock-conformance-')));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONFORMANCE_TIMEOUT_MS;
  const onOutput = opts.onOutput ?? (() => {});
  try {
    const runs = opts.scenarios?.length
      ? opts.scenarios.map((s) => ['server', '--url', url, '--scenario', s, '-o', outDir])
      : [['server', '--url', url, '--suite', opts.suite ?? 'active', '-o', outDir]];
    const finished: { code: number; output: string }[] = new Array(runs.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < runs.length) {
        const index = next++;
        finished[index] = await runCli(runs[index] as string[], timeoutMs, onOutput, opts.env ?? {});
      }
    };
    const workers = Math.max(1, Math.min(opts.concurrency ?? DEFAULT_CONFORMANCE_CONCURRENCY, runs.length));
    await Promise.all(Array.from({ length: workers }, worker));
    const exitCodes = finished.map((r) => r.code);
    const output = finished.map((r) => r.output).join('');
    const expected = new Set<string>(opts.scenarios ?? []);
    for (const m of output.matchAll(/=== Running scenario: (\S+) ===/g)) expected.add(m[1] as string);
    const results = await readResults(outDir);
    const scenarios: ScenarioResult[] = [...new Set([...expected, ...results.keys()])].map((scenario) => {
      const checks = results.get(scenario) ?? [];
      const passed = checks.length > 0 && !checks.some((c) => c.status === 'FAILURE');
      return { scenario, passed, checks };
    });
    return {
      passed: scenarios.filter((s) => s.passed).map((s) => s.scenario),
      failed: scenarios.filter((s) => !s.passed).map((s) => s.scenario),
      warned: scenarios
        .filter((s) => s.passed && s.checks.some((c) => c.status === 'WARNING'))
        .map((s) => s.scenario),
      raw: { scenarios, exitCodes, output },
    };
  } finally {
    if (opts.outputDir === undefined) await rm(outDir, { recursive: true, force: true });
  }
}

/** Formats a result as a fixed-width table, one scenario per line. */
export function formatConformanceTable(result: ConformanceResult, title = 'direct'): string {
  const rows = result.raw.scenarios.map((s) => {
    const count = (status: CheckStatus): number => s.checks.filter((c) => c.status === status).length;
    const verdict = !s.passed ? 'FAIL' : result.warned.includes(s.scenario) ? 'pass (warn)' : 'pass';
    return [
      s.scenario,
      verdict,
      String(count('SUCCESS')),
      String(count('FAILURE')),
      String(count('WARNING')),
    ];
  });
  const header = ['scenario', title, 'ok', 'fail', 'warn'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${result.passed.length} passed, ${result.failed.length} failed, ${result.warned.length} with warnings`,
  ].join('\n');
}

export {
  type ConformanceComparison,
  compareConformance,
  formatComparison,
} from './conformance-compare.js';
export {
  CONFORMANCE_UPSTREAM_NAME,
  startThroughAirlock,
  type ThroughAirlock,
} from './conformance-through-airlock.js';

/** Default report file: `bench/results/conformance.json` in the repository. */
export const DEFAULT_CONFORMANCE_REPORT = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/scripts/')
      ? '../../bench/results/conformance.json'
      : '../bench/results/conformance.json',
    import.meta.url,
  ),
);

function conformanceVersion(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('@modelcontextprotocol/conformance/package.json');
  return (JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      suite: { type: 'string', default: 'active' },
      scenario: { type: 'string', multiple: true },
      out: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const suite = values.suite as ConformanceSuite;
  if (!['active', 'all', 'pending'].includes(suite))
    throw new Error(`--suite must be active, all or pending`);
  const what = values.scenario?.join(', ') ?? suite;
  const runOptions: ConformanceOptions = {
    suite,
    ...(values.scenario ? { scenarios: values.scenario } : {}),
    ...(values.verbose ? { onOutput: (chunk: string) => process.stderr.write(chunk) } : {}),
  };

  if (values.url !== undefined) {
    process.stderr.write(`conformance: server scenarios (${what}) against ${values.url}\n`);
    const result = await runConformance(values.url, runOptions);
    process.stdout.write(`${formatConformanceTable(result)}\n`);
    for (const l of failureLines(result, 'direct')) process.stdout.write(`${l}\n`);
    process.exitCode = result.failed.length === 0 ? 0 : 1;
    return;
  }

  const report: Record<string, unknown> = {
    generatedAt: new Date().toISOString(),
    conformancePackage: `@modelcontextprotocol/conformance@${conformanceVersion()}`,
    node: process.version,
    suite: values.scenario ? { scenarios: values.scenario } : suite,
    legs: {
      direct: { description: 'conformance CLI → the server (HTTP, loopback)' },
      airlock: {
        description:
          'conformance CLI → local forwarder (HTTP, loopback, Host/Origin passed through) → mTLS with agent certificate → relay (SNI routing) → tunnel → connector (gateway pipeline, mcp.namespace none) → the server as HTTP upstream',
      },
    },
    targets: {},
  };
  let ok = true;
  for (const start of [startFixtureTarget, startEverythingTarget]) {
    const target = await start();
    try {
      const leg = await runBothLegs(target, runOptions, what);
      (report.targets as Record<string, unknown>)[target.name] = leg.report;
      ok &&= leg.ok;
    } finally {
      await target.close();
    }
  }
  const out = resolve(values.out ?? DEFAULT_CONFORMANCE_REPORT);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`\nreport: ${out}\n`);
  process.exitCode = ok ? 0 : 1;
}

/**
 * The suite against `target` directly and through Airlock, the comparison printed. Fails (`ok: false`)
 * when the passing sets differ beyond the target's named differences, or the fixture fails directly.
 */
async function runBothLegs(
  target: ConformanceTarget,
  runOptions: ConformanceOptions,
  what: string,
): Promise<{ ok: boolean; report: Record<string, unknown> }> {
  let airlock: ThroughAirlock | undefined;
  try {
    process.stderr.write(`conformance: server scenarios (${what}), ${target.description}\n`);
    process.stderr.write(`  (a) direct: ${target.url}\n`);
    const direct = await runConformance(target.url, runOptions);
    airlock = await startThroughAirlock(target.url, target.expectTool);
    process.stderr.write(
      `  (b) through Airlock: ${airlock.url} → ${airlock.tenantUrl} → relay → connector → ${target.url}\n`,
    );
    const through = await runConformance(airlock.url, runOptions);
    const comparison = compareConformance(direct, through);
    const differing = [...comparison.onlyDirect, ...comparison.onlyAirlock, ...comparison.missing];
    const unexplained = differing.filter((s) => target.differences[s] === undefined);
    const explained = Object.fromEntries(
      differing.filter((s) => target.differences[s] !== undefined).map((s) => [s, target.differences[s]]),
    );
    process.stdout.write(`\n${target.name}: ${target.description}\n`);
    process.stdout.write(`${formatComparison(direct, through, comparison)}\n`);
    for (const [s, why] of Object.entries(explained))
      process.stdout.write(`  differs, known: ${s}: ${why}\n`);
    if (unexplained.length > 0) process.stdout.write(`  differs, NOT explained: ${unexplained.join(', ')}\n`);
    const failures = [...failureLines(direct, 'direct'), ...failureLines(through, 'airlock')];
    if (failures.length > 0 && target.name === 'fixture') {
      process.stdout.write(`\nfailures:\n${failures.join('\n')}\n`);
    }
    const fixtureClean = target.name !== 'fixture' || direct.failed.length === 0;
    return {
      ok: unexplained.length === 0 && fixtureClean,
      report: {
        description: target.description,
        comparison,
        explainedDifferences: explained,
        unexplainedDifferences: unexplained,
        direct: legReport(direct),
        airlock: legReport(through),
      },
    };
  } finally {
    await airlock?.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
