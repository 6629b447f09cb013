/**
 * The audit-trail benchmark alone (see audit-bench.ts).
 *
 * Usage: npm run build && node dist/bench/audit/run.js [--entries 20000] [--concurrency 64] [--samples 2000] [--no-postgres]
 * Writes bench/results/audit.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAuditBench, summarizeAuditBench } from './audit-bench.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

const entries = arg('entries');
const concurrency = arg('concurrency');
const samples = arg('samples');
const results = await runAuditBench({
  ...(entries ? { entries } : {}),
  ...(concurrency ? { concurrency } : {}),
  ...(samples ? { samples } : {}),
  postgres: !process.argv.includes('--no-postgres'),
});
const out = join(ROOT, 'bench', 'results', 'audit.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
for (const line of summarizeAuditBench(results)) console.log(line);
console.log(`written to ${out}`);
