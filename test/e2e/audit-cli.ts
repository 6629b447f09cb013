/** Helpers of the audit e2e tests: run `airlock audit ...` and read a connector's trail back. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { storedAuditEntries } from '../../src/audit/stored-trail.js';
import type { AuditRepository } from '../../src/store/store.js';
import { CLI } from './cli-process.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion and returns its exit code and output (never rejects on exit status). */
export async function runCliResult(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Adds (or replaces) the `audit:` section of a connector config file. */
export async function setAuditConfig(configFile: string, audit: Record<string, unknown>): Promise<void> {
  const config = parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(configFile, stringify({ ...config, audit }));
}

/** Every stored entry, parsed. */
export async function storedEntries(repo: AuditRepository): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const text of storedAuditEntries(repo)) out.push(JSON.parse(text) as AuditEntry);
  return out;
}

/** Entries of a `jsonl` export file, parsed. */
export async function exportedEntries(file: string): Promise<AuditEntry[]> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines
    .map((l) => JSON.parse(l) as { type?: string; entry?: AuditEntry })
    .filter((l) => l.type === 'entry' && l.entry)
    .map((l) => l.entry as AuditEntry);
}
