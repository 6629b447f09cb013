/**
 * The settings of `npm run bench` (full and `--quick`) and its command line (see bench/run.ts for the
 * usage line).
 *
 * @example
 * const args = parseArgs(process.argv.slice(2)); // args.settings.rounds === 5 for a full run
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchSettings } from './bench-results.js';
import type { PipelineVariant } from './pipeline-variants.js';

/** The repository (dist/bench/run-args.js → ../..); `--root DIR` overrides it (a build elsewhere). */
const DEFAULT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const FULL: BenchSettings = {
  mode: 'full',
  rounds: 5,
  c1Samples: 200,
  c1Warmup: 20,
  concurrency: 64,
  closedLoopMs: 3000,
  closedLoopWarmupCalls: 3,
  blobMib: 16,
  blobCalls: 2,
  firstCallSamples: 8,
  sessionCounts: [1000, 10_000],
  restartSignals: ['SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGTERM'],
  profileMs: 8000,
};

export const QUICK: BenchSettings = {
  mode: 'quick',
  rounds: 1,
  c1Samples: 30,
  c1Warmup: 5,
  concurrency: 64,
  closedLoopMs: 500,
  closedLoopWarmupCalls: 1,
  blobMib: 16,
  blobCalls: 1,
  firstCallSamples: 2,
  sessionCounts: [100, 300],
  restartSignals: ['SIGKILL'],
  profileMs: 0,
};

/** What `--help` prints (the flags `parseArgs` reads). */
export const USAGE = `usage: node dist/bench/run.js [--quick] [--rounds N] [--only perf,restart,sessions,profile,audit]
       [--no-perf|--no-restart|--no-sessions|--no-profile|--no-audit] [--profile-ms N]
       [--profile-variant full|tunnel] [--no-install] [--out DIR] [--no-doc] [--root DIR] [--render] [--help]
--quick: a smoke run of about a minute, written to bench/results/quick/ (BENCHMARKS.md untouched).
--render: measure nothing; rewrite the reports from <out>/comparison.json.
`;

export interface Args {
  /** `--help` or `-h`: print `USAGE` and run nothing. */
  help: boolean;
  settings: BenchSettings;
  perf: boolean;
  sessions: boolean;
  profile: boolean;
  restart: boolean;
  /** The audit-trail benchmark (bench/audit/audit-bench.ts → `<out>/audit.json`). */
  audit: boolean;
  root: string;
  outDir: string;
  writeDoc: boolean;
  profileVariant: PipelineVariant;
  installOpenSsh: boolean;
  /** Only re-render the reports from `<outDir>/comparison.json`. */
  render: boolean;
}

export const PHASES = ['perf', 'restart', 'sessions', 'profile', 'audit'] as const;

/** Parses the bench's command line (unknown `--only` phases throw). */
export function parseArgs(argv: string[]): Args {
  const has = (f: string) => argv.includes(f);
  const value = (f: string) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = has('--quick');
  const settings = { ...(quick ? QUICK : FULL) };
  const rounds = Number(value('--rounds'));
  if (Number.isInteger(rounds) && rounds > 0) settings.rounds = rounds;
  const profileMs = Number(value('--profile-ms'));
  if (Number.isInteger(profileMs) && profileMs > 0) settings.profileMs = profileMs;
  const only = value('--only')?.split(',');
  const unknown = only?.filter((p) => !(PHASES as readonly string[]).includes(p)) ?? [];
  if (unknown.length > 0)
    throw new Error(`--only: unknown phase ${unknown.join(', ')} (${PHASES.join(', ')})`);
  const phase = (name: (typeof PHASES)[number], byDefault: boolean) =>
    only ? only.includes(name) : byDefault && !has(`--no-${name}`);
  const root = resolve(value('--root') ?? DEFAULT_ROOT);
  const profile = phase('profile', !quick);
  if (profile && settings.profileMs === 0) settings.profileMs = 3000;
  return {
    help: has('--help') || has('-h'),
    settings,
    perf: phase('perf', true),
    sessions: phase('sessions', true),
    profile,
    restart: phase('restart', true),
    audit: phase('audit', true),
    root,
    outDir: resolve(value('--out') ?? join(root, 'bench', 'results', quick ? 'quick' : '.')),
    writeDoc: !quick && !only && !has('--no-doc'),
    profileVariant: value('--profile-variant') === 'tunnel' ? 'tunnel' : 'full',
    installOpenSsh: !has('--no-install'),
    render: has('--render'),
  };
}
