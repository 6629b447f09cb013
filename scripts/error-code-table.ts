/**
 * Writes README's error-code tables from the registry (src/errors/error-codes.ts).
 * Run after adding a code: `npx tsc -p . && node dist/scripts/error-code-table.js`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { replaceErrorCodeTable } from '../src/errors/error-code-markdown.js';

// Runs compiled (dist/scripts/): README.md is two folders up.
const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url));

const before = await readFile(readmePath, 'utf8');
const after = replaceErrorCodeTable(before);
if (after === before) process.stdout.write('README.md error-code table is up to date\n');
else {
  await writeFile(readmePath, after);
  process.stdout.write('README.md error-code table written\n');
}
