/** Helpers of the audit e2e tests: run `airlock audit ...` and read a connector's trail back. */
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { storedAuditEntries } from '../../src/audit/stored-trail.js';
import type { AuditRepository } from '../../src/store/store.js';

export { type CliResult, runCliResult } from './cli-process.js';

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
