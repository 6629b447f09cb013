/**
 * One `airlock report` run for the report tests: the report stack (./report-stack.ts) with real
 * traffic, `airlock discover` over its two local MCP servers, then `airlock report --discover` into a
 * temporary folder; the signed `report.json` read back. `close()` stops the stack and removes the folder.
 *
 * @example
 * const run = await startReportRun();
 * run.report.approvals.counts; // from <run.out>/report/report.json
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReportDocument } from '../../src/report/report-model.js';
import type { SignedReportFile } from '../../src/report/report-signing.js';
import { airlock, type ReportStack, startReportStack } from './report-stack.js';

export interface ReportRun {
  r: ReportStack;
  /** The temporary folder; the report is in `<out>/report`. */
  out: string;
  signed: SignedReportFile;
  report: ReportDocument;
  close(): Promise<void>;
}

/** Starts the stack and writes the report (asserting both commands succeed). */
export async function startReportRun(): Promise<ReportRun> {
  const r = await startReportStack();
  const out = await mkdtemp(join(tmpdir(), 'airlock-report-'));
  const close = async () => {
    await r.close();
    await rm(out, { recursive: true, force: true });
  };
  try {
    const found = join(out, 'found.json');
    const ports = `${r.wiki.port},${r.shadow.port}`;
    const d = await airlock([
      'discover',
      '--cidr',
      '127.0.0.1/32',
      '--ports',
      ports,
      '--config',
      r.acme.configFile,
      '--out',
      found,
    ]);
    assert.equal(d.code, 0, d.stderr);
    const made = await airlock([
      'report',
      '--config',
      r.acme.configFile,
      '--out',
      join(out, 'report'),
      '--discover',
      found,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const signed = JSON.parse(await readFile(join(out, 'report', 'report.json'), 'utf8')) as SignedReportFile;
    return { r, out, signed, report: signed.report, close };
  } catch (err) {
    await close();
    throw err;
  }
}
