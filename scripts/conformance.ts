/**
 * Runs the server scenarios of the official MCP conformance suite (`@modelcontextprotocol/conformance`)
 * against an MCP endpoint, as a child process of its CLI, and parses the per-scenario `checks.json`
 * files it writes.
 *
 * `npm run conformance` (protocol transparency): runs the suite twice against the same fixture server
 * (test/fixtures/conformance-server.ts): (a) directly, and (b) through Airlock — agent → local forwarder
 * (src/agent/local-forwarder.ts, mTLS with an agent identity) → relay → tunnel → connector (gateway
 * pipeline, `mcp.namespace: none`) → the fixture as an HTTP upstream. It prints both tables and the
 * comparison, writes `bench/results/conformance.json`, and exits non-zero when the two passing sets
 * differ or the direct run has a failure.
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
import { type LocalForwarder, startLocalForwarder } from '../src/agent/local-forwarder.js';
import { type Stack, startStack } from '../test/e2e/airlock-stack.js';
import { startConformanceServer } from '../test/fixtures/conformance-server.js';

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

/** Name of the fixture upstream in the connector configuration. */
export const CONFORMANCE_UPSTREAM_NAME = 'conf';

export interface ThroughAirlock {
  /** Where the conformance CLI connects: the local forwarder, e.g. `http://127.0.0.1:43121/mcp`. */
  url: string;
  /** The tenant URL behind the forwarder (`https://<tenant>.localhost:<relay port>/mcp`). */
  tenantUrl: string;
  stack: Stack;
  forwarder: LocalForwarder;
  close(): Promise<void>;
}

/**
 * Puts the MCP server at `upstreamUrl` behind Airlock: a relay and an enrolled connector (test/e2e
 * harness) whose only upstream is that server over HTTP, exposed un-namespaced (`mcp.namespace: none`),
 * and a transparent local forwarder (`allowedHostnames: 'any'`) that presents the tenant's agent
 * certificate, so a plain-HTTP client reaches it through relay, tunnel, connector and gateway pipeline.
 *
 * @example
 * const airlock = await startThroughAirlock(fixture.url);
 * await runConformance(airlock.url);
 * await airlock.close();
 */
export async function startThroughAirlock(upstreamUrl: string): Promise<ThroughAirlock> {
  const stack = await startStack({
    tenants: ['conformance'],
    upstreams: () => ({ [CONFORMANCE_UPSTREAM_NAME]: { url: upstreamUrl } }),
    // Un-namespaced from the first start, so the fixture's first catalog is pinned under its own names.
    connector: { mcp: { namespace: 'none' } },
  });
  let forwarder: LocalForwarder | undefined;
  try {
    const tenant = stack.tenant('conformance');
    const names = tenant.connector.catalog.tools().map((t) => t.name);
    if (!names.includes('test_simple_text')) {
      throw new Error(
        `the connector does not list the fixture's tools un-namespaced (got ${names.join(', ')})`,
      );
    }
    // Transparent: foreign Host/Origin values reach the connector, so `dns-rebinding-protection`
    // measures Airlock's own check (the connector's agent endpoint), not the forwarder's.
    forwarder = await startLocalForwarder(tenant.connection(), { allowedHostnames: 'any' });
    const fwd = forwarder;
    return {
      url: fwd.url,
      tenantUrl: tenant.url,
      stack,
      forwarder: fwd,
      close: async () => {
        await fwd.close();
        await stack.close();
      },
    };
  } catch (err) {
    await forwarder?.close();
    await stack.close();
    throw err;
  }
}

export interface ConformanceComparison {
  /** The two legs passed exactly the same scenarios. */
  samePassingSet: boolean;
  /** Passed directly, failed through Airlock. */
  onlyDirect: string[];
  /** Passed through Airlock, failed directly. */
  onlyAirlock: string[];
  /** Ran in one leg only (a scenario that produced no result in the other counts as failed there). */
  missing: string[];
}

/**
 * Compares the passing sets of two runs.
 *
 * @example
 * const { samePassingSet, onlyDirect } = compareConformance(direct, throughAirlock);
 */
export function compareConformance(
  direct: ConformanceResult,
  airlock: ConformanceResult,
): ConformanceComparison {
  const a = new Set(direct.passed);
  const b = new Set(airlock.passed);
  const ranA = new Set(direct.raw.scenarios.map((s) => s.scenario));
  const ranB = new Set(airlock.raw.scenarios.map((s) => s.scenario));
  const onlyDirect = direct.passed.filter((s) => !b.has(s));
  const onlyAirlock = airlock.passed.filter((s) => !a.has(s));
  const missing = [...ranA].filter((s) => !ranB.has(s)).concat([...ranB].filter((s) => !ranA.has(s)));
  return {
    samePassingSet: onlyDirect.length === 0 && onlyAirlock.length === 0,
    onlyDirect,
    onlyAirlock,
    missing,
  };
}

function verdict(result: ConformanceResult, scenario: string): string {
  const s = result.raw.scenarios.find((x) => x.scenario === scenario);
  if (!s) return '-';
  return !s.passed ? 'FAIL' : result.warned.includes(scenario) ? 'pass (warn)' : 'pass';
}

/** Side-by-side table of both legs plus the verdict. */
export function formatComparison(
  direct: ConformanceResult,
  airlock: ConformanceResult,
  comparison = compareConformance(direct, airlock),
): string {
  const names = [...new Set([...direct.raw.scenarios, ...airlock.raw.scenarios].map((s) => s.scenario))];
  const rows = names.map((n) => {
    const d = verdict(direct, n);
    const a = verdict(airlock, n);
    return [n, d, a, d === a || (d.startsWith('pass') && a.startsWith('pass')) ? '' : 'DIFFERS'];
  });
  const header = ['scenario', 'direct', 'through airlock', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const summary = comparison.samePassingSet
    ? `same passing set: ${direct.passed.length} of ${names.length} scenarios pass both ways`
    : `passing sets DIFFER: only direct [${comparison.onlyDirect.join(', ')}], only through Airlock [${comparison.onlyAirlock.join(', ')}]`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), '', summary].join('\n');
}

function failureLines(result: ConformanceResult, leg: string): string[] {
  return result.raw.scenarios
    .filter((s) => !s.passed)
    .flatMap((s) => {
      const failures = s.checks.filter((c) => c.status === 'FAILURE');
      if (failures.length === 0) return [`  [${leg}] ${s.scenario}: no result (see --verbose output)`];
      return failures.map((c) => `  [${leg}] ${s.scenario}: ${c.name}: ${c.errorMessage ?? c.description}`);
    });
}

function legReport(result: ConformanceResult): Record<string, unknown> {
  return {
    passed: result.passed,
    failed: result.failed,
    warned: result.warned,
    exitCodes: result.raw.exitCodes,
    scenarios: result.raw.scenarios.map((s) => ({
      scenario: s.scenario,
      passed: s.passed,
      checks: s.checks
        .filter((c) => c.status !== 'INFO')
        .map((c) => ({
          id: c.id,
          status: c.status,
          ...(c.errorMessage !== undefined ? { errorMessage: c.errorMessage } : {}),
        })),
    })),
  };
}

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

  const fixture = await startConformanceServer();
  let airlock: ThroughAirlock | undefined;
  try {
    process.stderr.write(`conformance: server scenarios (${what})\n  (a) direct: ${fixture.url}\n`);
    const direct = await runConformance(fixture.url, runOptions);
    airlock = await startThroughAirlock(fixture.url);
    process.stderr.write(
      `  (b) through Airlock: ${airlock.url} → ${airlock.tenantUrl} → relay → connector → ${fixture.url}\n`,
    );
    const through = await runConformance(airlock.url, runOptions);
    const comparison = compareConformance(direct, through);

    process.stdout.write(`\n${formatConformanceTable(direct, 'direct')}\n\n`);
    process.stdout.write(`${formatConformanceTable(through, 'airlock')}\n\n`);
    process.stdout.write(`${formatComparison(direct, through, comparison)}\n`);
    const failures = [...failureLines(direct, 'direct'), ...failureLines(through, 'airlock')];
    if (failures.length > 0) process.stdout.write(`\nfailures:\n${failures.join('\n')}\n`);

    const out = resolve(values.out ?? DEFAULT_CONFORMANCE_REPORT);
    await mkdir(dirname(out), { recursive: true });
    const report = {
      generatedAt: new Date().toISOString(),
      conformancePackage: `@modelcontextprotocol/conformance@${conformanceVersion()}`,
      node: process.version,
      suite: values.scenario ? { scenarios: values.scenario } : suite,
      legs: {
        direct: { description: 'conformance CLI → fixture (HTTP, loopback)' },
        airlock: {
          description:
            'conformance CLI → local forwarder (HTTP, loopback, Host/Origin passed through) → mTLS with agent certificate → relay (SNI routing) → tunnel → connector (gateway pipeline, mcp.namespace none) → fixture as HTTP upstream',
        },
      },
      comparison,
      direct: legReport(direct),
      airlock: legReport(through),
    };
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(`\nreport: ${out}\n`);
    process.exitCode = comparison.samePassingSet && direct.failed.length === 0 ? 0 : 1;
  } finally {
    await airlock?.close();
    await fixture.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
