/**
 * Long fuzz run over every parser that touches outside bytes (the same fast-check targets as
 * test/adversarial/parsers-property.test.ts): TLS ClientHello, tunnel hello and rejection, connector
 * URI, enrollment request and token, connector and policy YAML, the sandbox block, and the JSON-RPC
 * handling of a real connector /mcp endpoint.
 *
 *   npm run fuzz                          # 100000 runs per parser, 1000 against the endpoint
 *   npm run fuzz -- --runs 5000 --only tls-client-hello,tunnel-hello
 *   npm run fuzz -- --seed 42 --only policy-yaml   # replay a reported seed
 *
 * Prints progress and a summary; exits 1 when any invariant failed, printing the seed, the shrunk
 * counterexample and the command that replays it. Every finding becomes a regression test.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { type EndpointFuzz, startEndpointFuzz } from '../test/adversarial/endpoint-target.js';
import { checkTarget, PARSER_TARGETS } from '../test/adversarial/parser-targets.js';

const ENDPOINT_TARGET = 'endpoint-json-rpc';
const DEFAULT_RUNS = 100_000;

interface Outcome {
  name: string;
  runs: number;
  ms: number;
  failure?: string;
}

function usage(): never {
  process.stderr.write(
    'usage: node dist/scripts/fuzz.js [--runs N] [--endpoint-runs M] [--seed S] [--only name,...]\n' +
      `targets: ${[...PARSER_TARGETS.map((t) => t.name), ENDPOINT_TARGET].join(', ')}\n`,
  );
  process.exit(2);
}

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) usage();
  return n;
}

/** Runtime warnings seen during the run (e.g. YAML complex keys), counted instead of flooding the output. */
const warnings = new Map<string, number>();

interface FuzzArgs {
  runs: number;
  endpointRuns: number;
  seed: number;
  /** Targets to run; all when absent. */
  only: Set<string> | undefined;
}

function readArgs(): FuzzArgs {
  let values: { runs?: string; 'endpoint-runs'?: string; seed?: string; only?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        runs: { type: 'string' },
        'endpoint-runs': { type: 'string' },
        seed: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch {
    usage();
  }
  if (values.help) usage();
  const runs = positiveInt(values.runs, DEFAULT_RUNS);
  const endpointRuns = positiveInt(values['endpoint-runs'], Math.max(1, Math.floor(runs / 100)));
  const seed = values.seed === undefined ? Date.now() ^ (Math.random() * 0x7fffffff) : Number(values.seed);
  if (!Number.isInteger(seed)) usage();
  const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
  const known = new Set([...PARSER_TARGETS.map((t) => t.name), ENDPOINT_TARGET]);
  for (const name of only ?? []) if (!known.has(name)) usage();
  return { runs, endpointRuns, seed, only };
}

/** One parser target, in chunks of seeded runs until `runs` or the first failure. */
function fuzzParser(target: (typeof PARSER_TARGETS)[number], runs: number, seed: number): Outcome {
  const started = Date.now();
  const chunk = Math.max(1, Math.min(10_000, Math.ceil(runs / 10)));
  let done = 0;
  let failure: string | undefined;
  for (let i = 0; done < runs && !failure; i++) {
    const n = Math.min(chunk, runs - done);
    const chunkSeed = seed + i;
    const details = checkTarget(target, { numRuns: n, seed: chunkSeed });
    done += details.numRuns;
    if (details.failed) failure = describeFailure(target.name, details, chunkSeed, n);
    else progress(target.name, done, runs, started);
  }
  return { name: target.name, runs: done, ms: Date.now() - started, ...(failure ? { failure } : {}) };
}

/** JSON-RPC inputs against a real connector /mcp endpoint, which must still be healthy afterwards. */
async function fuzzEndpoint(endpointRuns: number, seed: number): Promise<Outcome> {
  const started = Date.now();
  let fuzz: EndpointFuzz | undefined;
  let failure: string | undefined;
  let done = 0;
  try {
    fuzz = await startEndpointFuzz();
    const chunk = Math.max(1, Math.min(500, Math.ceil(endpointRuns / 10)));
    for (let i = 0; done < endpointRuns && !failure; i++) {
      const n = Math.min(chunk, endpointRuns - done);
      const chunkSeed = seed + 1_000_000 + i;
      const target = fuzz;
      const details = await fc.check(
        fc.asyncProperty(target.arbitrary, (input) => target.check(input)),
        { numRuns: n, seed: chunkSeed },
      );
      done += details.numRuns;
      if (details.failed) failure = describeFailure(ENDPOINT_TARGET, details, chunkSeed, n);
      else progress(ENDPOINT_TARGET, done, endpointRuns, started);
    }
    if (!failure) await fuzz.healthy();
  } catch (err) {
    failure ??= `${ENDPOINT_TARGET}: ${(err as Error).message}`;
  } finally {
    await fuzz?.close();
  }
  return { name: ENDPOINT_TARGET, runs: done, ms: Date.now() - started, ...(failure ? { failure } : {}) };
}

/** Prints the summary; returns the number of failed targets. */
function summarize(outcomes: Outcome[]): number {
  log('\nsummary');
  for (const o of outcomes) {
    const rate = o.ms > 0 ? Math.round((o.runs * 1000) / o.ms) : o.runs;
    log(
      `  ${o.failure ? 'FAIL' : 'ok  '} ${o.name.padEnd(24)} ${String(o.runs).padStart(9)} runs  ${String(rate).padStart(7)}/s`,
    );
  }
  if (warnings.size > 0) {
    const total = [...warnings.values()].reduce((a, b) => a + b, 0);
    log(`  (${total} runtime warnings, ${warnings.size} distinct; first: ${[...warnings.keys()][0]})`);
  }
  const failures = outcomes.filter((o) => o.failure);
  for (const o of failures) log(`\n${o.failure}`);
  log(failures.length === 0 ? '\nno invariant was violated' : `\n${failures.length} target(s) failed`);
  return failures.length;
}

async function main(): Promise<number> {
  process.removeAllListeners('warning');
  process.on('warning', (w) =>
    warnings.set(w.message.slice(0, 80), (warnings.get(w.message.slice(0, 80)) ?? 0) + 1),
  );
  const { runs, endpointRuns, seed, only } = readArgs();
  log(`fuzz: seed ${seed}, ${runs} runs per parser, ${endpointRuns} against the endpoint`);
  const outcomes: Outcome[] = [];
  for (const target of PARSER_TARGETS) {
    if (!only || only.has(target.name)) outcomes.push(fuzzParser(target, runs, seed));
  }
  if (endpointRuns > 0 && (!only || only.has(ENDPOINT_TARGET))) {
    outcomes.push(await fuzzEndpoint(endpointRuns, seed));
  }
  return summarize(outcomes) === 0 ? 0 : 1;
}

function describeFailure(
  name: string,
  details: { counterexample: unknown; counterexamplePath: string | null; errorInstance: unknown },
  seed: number,
  runs: number,
): string {
  const example = JSON.stringify(details.counterexample, (_k, v: unknown) =>
    v instanceof Uint8Array ? `hex:${Buffer.from(v).toString('hex')}` : v,
  );
  return [
    `${name}: ${String(details.errorInstance)}`,
    `  counterexample: ${example?.slice(0, 2000)}`,
    `  replay: node dist/scripts/fuzz.js --only ${name} --seed ${seed} --runs ${runs}` +
      (details.counterexamplePath ? ` (fast-check path ${details.counterexamplePath})` : ''),
  ].join('\n');
}

let lastProgress = 0;
function progress(name: string, done: number, total: number, started: number): void {
  const now = Date.now();
  if (done < total && now - lastProgress < 1000) return;
  lastProgress = now;
  const rate = Math.round((done * 1000) / Math.max(1, now - started));
  log(`  ${name}: ${done}/${total} (${rate}/s)`);
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fuzz: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
