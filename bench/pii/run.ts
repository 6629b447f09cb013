/**
 * `npm run bench:pii`: recall per entity class, kept-rate per decoy kind and precision of Airlock's PII
 * detectors on a generated, labelled corpus (nine faker locales, prose and JSON), and scanning
 * throughput in MB/s on the corpus and on 16 MiB results.
 *
 * Two corpora are measured: `dev` (the templates and seed the detectors were tuned on) and `heldout`
 * (other templates and phrases, another seed, only ever measured). The targets apply to the held-out
 * figures. Writes `bench/results/pii.json` and `bench/results/pii.md`.
 *
 * Usage: node dist/bench/pii/run.js [--documents 1800] [--errors CLASS] [--mib 16] [--out bench/results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import nlp from 'compromise';
import { PiiScanner } from '../../src/pii/pii-scanner.js';
import type { PiiSpan } from '../../src/pii/pii-types.js';
import { generateCorpus, type LabelledDoc } from './corpus.js';
import { markdown, type PoolResult, type ThroughputResult } from './report.js';
import { type ClassScore, type DetectedSpan, Scoreboard } from './score.js';

/** Seeds of the two corpora. The held-out seed was fixed before measuring and never tuned against. */
export const DEV_SEED = 1;
export const HELDOUT_SEED = 7_2026;
export const DEFAULT_DOCUMENTS = 1800;
export const DEFAULT_THROUGHPUT_MIB = 16;

function utf8Bytes(docs: readonly LabelledDoc[]): number {
  return docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0);
}

/** CPU seconds of this process (user + system), not wall time: meaningful on a busy machine. */
function cpuSeconds<T>(fn: () => T): { seconds: number; value: T } {
  const started = process.cpuUsage();
  const value = fn();
  const used = process.cpuUsage(started);
  return { seconds: (used.user + used.system) / 1e6, value };
}

function compromiseNames(docs: readonly LabelledDoc[]): ClassScore | undefined {
  const board = new Scoreboard();
  for (const d of docs) {
    const found = nlp(d.text).people().json({ offset: true }) as {
      offset: { start: number; length: number };
    }[];
    const detected: DetectedSpan[] = found.map((p) => ({
      start: p.offset.start,
      end: p.offset.start + p.offset.length,
      class: 'NAME',
    }));
    board.add(
      d.text,
      d.spans.filter((s) => s.class === 'NAME'),
      detected,
    );
  }
  return board.results().NAME;
}

function printErrors(pool: string, board: Scoreboard, cls: string): void {
  console.log(`--- ${pool}: missed ${cls}`);
  for (const m of board.misses.get(cls) ?? []) console.log(`  ${m}`);
  console.log(`--- ${pool}: false ${cls}`);
  for (const m of board.falsePositives.get(cls) ?? []) console.log(`  ${m}`);
  console.log(`--- ${pool}: decoys lost (${cls} or any)`);
  for (const [kind, list] of board.lostDecoys) for (const m of list) console.log(`  ${kind}: ${m}`);
}

function measure(pool: 'dev' | 'heldout', seed: number, documents: number, errors?: string): PoolResult {
  const docs = generateCorpus({ seed, pool, documents });
  const scanner = new PiiScanner();
  for (const d of docs.slice(0, 50)) scanner.scan(d.text); // warm up the JIT and lazy metadata
  const { seconds, value: spans } = cpuSeconds(() => docs.map((d) => scanner.scan(d.text)));
  const board = new Scoreboard();
  docs.forEach((d, i) => {
    board.add(d.text, d.spans, spans[i] ?? ([] as PiiSpan[]));
  });
  const withoutNames = cpuSeconds(() => {
    const s = new PiiScanner({ disable: ['name'] });
    for (const d of docs) s.scan(d.text);
  }).seconds;
  if (errors) printErrors(pool, board, errors);
  const bytes = utf8Bytes(docs);
  return {
    seed,
    documents: docs.length,
    bytes,
    goldSpans: docs.reduce((n, d) => n + d.spans.length, 0),
    classes: board.results(),
    decoys: board.decoys(),
    compromiseOnlyNames: compromiseNames(docs),
    throughput: {
      mbPerSecond: bytes / 1e6 / seconds,
      mbPerSecondWithoutNames: bytes / 1e6 / withoutNames,
      seconds,
    },
  };
}

/** One string of `mib` MiB: corpus documents joined (dense PII) or lower-case prose (the `blob` of the main bench). */
function bigText(kind: 'corpus' | 'prose', mib: number): string {
  const size = mib * 1024 * 1024;
  const unit =
    kind === 'corpus'
      ? generateCorpus({ seed: 99, pool: 'heldout', documents: 900 })
          .map((d) => d.text)
          .join('\n\n')
      : 'the quick brown fox jumps over the lazy dog near the river bank. ';
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

function throughput(mib: number): ThroughputResult[] {
  const out: ThroughputResult[] = [];
  for (const kind of ['prose', 'corpus'] as const) {
    const text = bigText(kind, mib);
    const scanner = new PiiScanner();
    scanner.scan(text.slice(0, 200_000));
    const rss = process.memoryUsage().rss;
    const { seconds, value } = cpuSeconds(() => scanner.scan(text));
    out.push({
      kind,
      mib,
      seconds,
      mbPerSecond: Buffer.byteLength(text) / 1e6 / seconds,
      spans: value.length,
      rssGrowthMb: (process.memoryUsage().rss - rss) / 1e6,
    });
  }
  return out;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      documents: { type: 'string', default: String(DEFAULT_DOCUMENTS) },
      errors: { type: 'string' },
      mib: { type: 'string', default: String(DEFAULT_THROUGHPUT_MIB) },
      out: { type: 'string', default: 'bench/results' },
    },
  });
  const documents = Math.max(9, Number(values.documents));
  const results = {
    dev: measure('dev', DEV_SEED, documents, values.errors),
    heldout: measure('heldout', HELDOUT_SEED, documents, values.errors),
  };
  const big = Number(values.mib) > 0 ? throughput(Number(values.mib)) : [];
  const out = resolve(values.out ?? 'bench/results');
  mkdirSync(out, { recursive: true });
  const report = { generatedAt: new Date().toISOString(), node: process.version, ...results, big };
  writeFileSync(join(out, 'pii.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(results, big);
  writeFileSync(join(out, 'pii.md'), md);
  console.log(md);
}

main();
