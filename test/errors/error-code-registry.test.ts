import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ERROR_TABLE_BEGIN,
  ERROR_TABLE_END,
  errorCodeTableMarkdown,
} from '../../src/errors/error-code-markdown.js';
import { ERROR_CODES, ERROR_FAMILIES, type ErrorCode, WIRE_CODES } from '../../src/errors/error-codes.js';

// Compiled to <outDir>/test/errors/: the checkout is three folders up (dist/ or .h-*-dist/).
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REGISTRY_FILES = new Set(['src/errors/error-codes.ts', 'src/errors/error-families.ts']);
const CODE_LITERAL = /['"](AIRLOCK_[A-Z0-9_]+)['"]/g;
const WIRE_LITERAL = /(?<![\w.])-(32\d{3})\b/g;

async function sourceFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(join(ROOT, 'src'), { recursive: true })) {
    if (!entry.endsWith('.ts')) continue;
    const path = `src/${entry}`;
    if (REGISTRY_FILES.has(path)) continue;
    files.set(path, await readFile(join(ROOT, path), 'utf8'));
  }
  return files;
}

/** Every `'AIRLOCK_…'` literal per file; literals ending in `_` are prefixes (`startsWith` checks). */
function codeLiterals(files: Map<string, string>): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const [path, text] of files) {
    for (const m of text.matchAll(CODE_LITERAL)) {
      const code = m[1] as string;
      seen.set(code, [...(seen.get(code) ?? []), path]);
    }
  }
  return seen;
}

function unregistered(literals: Map<string, string[]>): string[] {
  const codes = Object.keys(ERROR_CODES);
  const problems: string[] = [];
  for (const [literal, where] of literals) {
    const known = literal.endsWith('_')
      ? codes.some((c) => c.startsWith(literal))
      : Object.hasOwn(ERROR_CODES, literal);
    if (!known) problems.push(`${literal} (${[...new Set(where)].join(', ')})`);
  }
  return problems.sort();
}

interface ReadmeTables {
  families: Map<string, string>;
  wire: Map<number, string>;
  codes: Map<string, { family: string; meaning: string }>;
  block: string;
}

function readmeTables(readme: string): ReadmeTables {
  const begin = readme.indexOf(ERROR_TABLE_BEGIN);
  const end = readme.indexOf(ERROR_TABLE_END);
  assert.ok(begin >= 0 && end > begin, 'README.md has the error-code markers');
  const block = readme.slice(begin + ERROR_TABLE_BEGIN.length, end).trim();
  const tables: ReadmeTables = { families: new Map(), wire: new Map(), codes: new Map(), block };
  for (const line of block.split('\n')) {
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim().replaceAll('\\|', '|'));
    const code = /^`(AIRLOCK_[A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (code && cells.length === 3)
      tables.codes.set(code, { family: cells[1] ?? '', meaning: cells[2] ?? '' });
    else if (/^-32\d{3}$/.test(cells[0] ?? '')) tables.wire.set(Number(cells[0]), cells[1] ?? '');
    else if (cells.length === 3 && Object.hasOwn(ERROR_FAMILIES, cells[0] ?? '')) {
      tables.families.set(cells[0] as string, cells[2] ?? '');
    }
  }
  return tables;
}

function readmeProblems(tables: ReadmeTables): string[] {
  const problems: string[] = [];
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    const row = tables.codes.get(code);
    if (!row) problems.push(`${code} is missing from README`);
    else if (row.meaning !== entry.meaning || row.family !== entry.family) {
      problems.push(
        `${code}: README says "${row.family} | ${row.meaning}", registry "${entry.family} | ${entry.meaning}"`,
      );
    }
  }
  for (const code of tables.codes.keys()) {
    if (!Object.hasOwn(ERROR_CODES, code)) problems.push(`${code} is in README but not in the registry`);
  }
  for (const w of WIRE_CODES) {
    if (tables.wire.get(w.code) !== w.meaning) problems.push(`wire code ${w.code} differs in README`);
  }
  if (tables.wire.size !== WIRE_CODES.length)
    problems.push('README lists other wire codes than the registry');
  for (const [name, family] of Object.entries(ERROR_FAMILIES)) {
    if (tables.families.get(name) !== family.raisedBy) problems.push(`family ${name} differs in README`);
  }
  return problems;
}

describe('error-code registry', () => {
  it('registers every AIRLOCK_* code used in src/, and flags one that is not', async () => {
    const literals = codeLiterals(await sourceFiles());
    assert.ok(literals.size > 100, `scanned the codes of src/ (${literals.size})`);
    assert.deepEqual(unregistered(literals), [], 'codes used in src/ but not in src/errors/error-codes.ts');

    // The check itself: a new code that nobody registered is reported with its file.
    const planted = codeLiterals(new Map([['src/x/new.ts', "throw new AirlockError('AIRLOCK_X_NEW', 'x')"]]));
    assert.deepEqual(unregistered(planted), ['AIRLOCK_X_NEW (src/x/new.ts)']);
  });

  it('has no entry that src/ no longer uses', async () => {
    const literals = codeLiterals(await sourceFiles());
    const unused = Object.keys(ERROR_CODES).filter((code) => !literals.has(code));
    assert.deepEqual(unused, [], 'registry entries no file of src/ uses');
  });

  it('puts every code in a family whose prefixes it starts with, with a one-line meaning', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      const prefixes: readonly string[] = ERROR_FAMILIES[entry.family].prefixes;
      assert.ok(
        prefixes.some((p) => code.startsWith(p)),
        `${code} does not start with a prefix of ${entry.family}`,
      );
      assert.match(entry.meaning, /^[^\n]{3,100}$/, `${code} has a one-line meaning`);
    }
  });

  it('registers every JSON-RPC error code used in src/, each one used', async () => {
    const used = new Set<number>();
    for (const text of (await sourceFiles()).values()) {
      for (const m of text.matchAll(WIRE_LITERAL)) used.add(-Number(m[1]));
    }
    const registered = new Set(WIRE_CODES.map((w) => w.code));
    assert.deepEqual(
      [...used].filter((c) => !registered.has(c)),
      [],
      'wire codes used but not registered',
    );
    assert.deepEqual(
      [...registered].filter((c) => !used.has(c)),
      [],
      'wire codes registered but not used',
    );
  });

  it("matches README's error-code tables (same codes, same meanings), and notices a drifted row", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const tables = readmeTables(readme);
    assert.equal(tables.codes.size, Object.keys(ERROR_CODES).length);
    assert.deepEqual(
      readmeProblems(tables),
      [],
      'run: npx tsc -p . && node dist/scripts/error-code-table.js',
    );
    assert.equal(tables.block, errorCodeTableMarkdown(), 'README block is exactly the rendered registry');

    const code: ErrorCode = 'AIRLOCK_TOOL_FORBIDDEN';
    const drifted = readme.replace(
      `| \`${code}\` | authorization | ${ERROR_CODES[code].meaning} |`,
      `| \`${code}\` | authorization | reworded |`,
    );
    assert.notEqual(drifted, readme);
    assert.match(readmeProblems(readmeTables(drifted)).join('\n'), /AIRLOCK_TOOL_FORBIDDEN: README says/);
    const dropped = readme.replace(/\| `AIRLOCK_STORE_URL` \|[^\n]*\n/, '');
    assert.deepEqual(readmeProblems(readmeTables(dropped)), ['AIRLOCK_STORE_URL is missing from README']);
  });

  it('scans every source file of src/ but the registry itself', async () => {
    const files = await sourceFiles();
    assert.ok(files.has('src/errors/airlock-error.ts') && files.has('src/relay/relay-server.ts'));
    for (const registry of REGISTRY_FILES) assert.ok(!files.has(registry));
  });
});
