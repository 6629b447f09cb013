/**
 * Question 4 (where the audit lives, who can tamper): the report runs the very command a reviewer
 * would run — `airlock audit verify --config <file> --witness --json` — as a child process and keeps
 * its verdict, so the figure in the report and the command under it cannot disagree, whatever the
 * verifier checks (hash chain, Merkle tree, signed checkpoints, witness cosignatures). When no
 * witness can be asked, it falls back to `--offline` and says so.
 *
 * @example
 * const audit = await collectAuditEvidence({ configFile: ctx.configFile, store, keyId, witnesses });
 * audit.verification?.ok;
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Store } from '../store/store.js';
import type { AuditEvidence } from './report-model.js';
import { shellWord } from './reproduce-commands.js';

/** Longest `airlock audit verify` may run for a report. */
export const DEFAULT_AUDIT_VERIFY_TIMEOUT_MS = 120_000;
/** Most bytes of its output kept. */
const MAX_VERIFY_OUTPUT = 4 * 1024 * 1024;

/** The CLI entry point next to this module (`dist/src/cli/main.js`). */
export function airlockCliEntry(): string {
  return fileURLToPath(new URL('../cli/main.js', import.meta.url));
}

interface VerifyRun {
  args: string[];
  report: Record<string, unknown> | undefined;
  stderr: string;
}

function runVerify(configFile: string, extra: string[], timeoutMs: number): Promise<VerifyRun> {
  const args = ['audit', 'verify', '--config', configFile, ...extra, '--json'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [airlockCliEntry(), ...args],
      { timeout: timeoutMs, maxBuffer: MAX_VERIFY_OUTPUT, env: { ...process.env, NO_COLOR: '1' } },
      (_err, stdout, stderr) => {
        let report: Record<string, unknown> | undefined;
        const line = String(stdout).trim().split('\n').at(-1) ?? '';
        try {
          const parsed = JSON.parse(line) as unknown;
          if (parsed && typeof parsed === 'object' && typeof (parsed as { ok?: unknown }).ok === 'boolean') {
            report = parsed as Record<string, unknown>;
          }
        } catch {
          report = undefined;
        }
        resolve({ args, report, stderr: String(stderr).trim().slice(0, 2000) });
      },
    );
  });
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const optNum = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;

function verdict(r: Record<string, unknown>): NonNullable<AuditEvidence['verification']> {
  const p = r.firstProblem as { seq?: unknown; kind?: unknown; detail?: unknown } | undefined;
  const witnessedThrough = optNum(r.witnessedThrough);
  const witnessesReached = optNum(r.witnessesReached);
  const quorum = optNum(r.quorum);
  return {
    ok: r.ok === true,
    entries: num(r.entries),
    checkpoints: num(r.checkpoints),
    witnessedCheckpoints: num(r.witnessedCheckpoints),
    signedThrough: num(r.signedThrough),
    ...(witnessedThrough !== undefined ? { witnessedThrough } : {}),
    ...(witnessesReached !== undefined ? { witnessesReached } : {}),
    ...(quorum !== undefined ? { quorum } : {}),
    headHash: typeof r.headHash === 'string' ? r.headHash : null,
    ...(typeof r.rootHash === 'string' ? { rootHash: r.rootHash } : {}),
    ...(typeof r.notChecked === 'string' ? { notChecked: r.notChecked } : {}),
    firstProblem: p ? { seq: num(p.seq), kind: String(p.kind), detail: String(p.detail) } : null,
  };
}

/**
 * Verifies the trail through the CLI (with witnesses, else offline) and reads the latest local
 * checkpoint from the store. `witnesses` are the configured witness URLs (the relay's first).
 */
export async function collectAuditEvidence(input: {
  configFile: string;
  store: Store;
  keyId: string | undefined;
  witnesses: Array<{ name: string; url: string }>;
  timeoutMs?: number;
}): Promise<AuditEvidence> {
  const timeoutMs = input.timeoutMs ?? DEFAULT_AUDIT_VERIFY_TIMEOUT_MS;
  const latest = await input.store.audit.latestAuditCheckpoint();
  const attempts: VerifyRun[] = [];
  let used: VerifyRun | undefined;
  for (const extra of input.keyId ? [['--witness'], ['--offline'], []] : []) {
    const run = await runVerify(input.configFile, extra, timeoutMs);
    attempts.push(run);
    if (run.report) {
      used = run;
      break;
    }
  }
  const notes = attempts
    .filter((a) => a !== used && a.stderr)
    .map((a) => `airlock ${a.args.join(' ')}: ${a.stderr.split('\n')[0] ?? ''}`);
  return {
    keyId: input.keyId ?? null,
    verification: used?.report ? verdict(used.report) : null,
    witnesses: input.witnesses.map((w) => ({ ...w, consulted: used?.args.includes('--witness') ?? false })),
    notes,
    latestCheckpoint: latest
      ? { treeSize: latest.treeSize, headHash: latest.headHash, time: latest.time }
      : null,
    reproduce: `airlock ${(used?.args ?? ['audit', 'verify', '--config', input.configFile, '--witness']).map(shellWord).join(' ')}`,
  };
}
