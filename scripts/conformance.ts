/**
 * Runs the server scenarios of the official MCP conformance suite (`@modelcontextprotocol/conformance`)
 * against an MCP endpoint, as a child process of its CLI, and parses the per-scenario `checks.json`
 * files it writes.
 *
 *   node dist/scripts/conformance.js                    # start the fixture server, run the active suite
 *   node dist/scripts/conformance.js --url <url>        # run against an existing endpoint
 *   node dist/scripts/conformance.js --suite all --scenario tools-list --scenario ping
 *
 * A scenario passes when none of its checks is a FAILURE (WARNINGs, which the suite uses for SHOULDs,
 * are reported in `warned`). A scenario that produced no result file counts as failed.
 *
 * @example
 * const { passed, failed } = await runConformance('http://127.0.0.1:3000/mcp', { scenarios: ['tools-list'] });
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startConformanceServer } from '../test/fixtures/conformance-server.js';

/** Upper bound for one run of the conformance CLI before it is killed. */
export const DEFAULT_CONFORMANCE_TIMEOUT_MS = 5 * 60 * 1000;

export type ConformanceSuite = 'active' | 'all' | 'pending';

export interface ConformanceOptions {
  /** Run only these scenarios (one CLI run each). Default: the whole `suite`. */
  scenarios?: string[];
  /** Suite when `scenarios` is not given. Default `active` (the suite's own default). */
  suite?: ConformanceSuite;
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
    const exitCodes: number[] = [];
    let output = '';
    const expected = new Set<string>(opts.scenarios ?? []);
    for (const args of runs) {
      const run = await runCli(args, timeoutMs, onOutput, opts.env ?? {});
      exitCodes.push(run.code);
      output += run.output;
      for (const m of run.output.matchAll(/=== Running scenario: (\S+) ===/g)) expected.add(m[1] as string);
    }
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      suite: { type: 'string', default: 'active' },
      scenario: { type: 'string', multiple: true },
      verbose: { type: 'boolean', default: false },
    },
  });
  const suite = values.suite as ConformanceSuite;
  if (!['active', 'all', 'pending'].includes(suite))
    throw new Error(`--suite must be active, all or pending`);
  const fixture = values.url === undefined ? await startConformanceServer() : undefined;
  const url = values.url ?? fixture?.url ?? '';
  try {
    process.stderr.write(
      `conformance: server scenarios (${values.scenario?.join(', ') ?? suite}) against ${url}\n`,
    );
    const result = await runConformance(url, {
      suite,
      ...(values.scenario ? { scenarios: values.scenario } : {}),
      ...(values.verbose ? { onOutput: (chunk: string) => process.stderr.write(chunk) } : {}),
    });
    process.stdout.write(`${formatConformanceTable(result)}\n`);
    for (const s of result.raw.scenarios.filter((x) => !x.passed)) {
      for (const c of s.checks.filter((x) => x.status === 'FAILURE')) {
        process.stdout.write(`  ${s.scenario}: ${c.name}: ${c.errorMessage ?? c.description}\n`);
      }
    }
    process.exitCode = result.failed.length === 0 ? 0 : 1;
  } finally {
    await fixture?.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
