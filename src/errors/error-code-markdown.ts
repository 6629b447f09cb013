/**
 * README's error-code tables, rendered from the registry (src/errors/error-codes.ts). The block sits
 * between {@link ERROR_TABLE_BEGIN} and {@link ERROR_TABLE_END}; scripts/error-code-table.ts writes it and
 * test/errors/error-code-registry.test.ts checks README against the registry.
 *
 * @example
 * const readme = replaceErrorCodeTable(await readFile('README.md', 'utf8'));
 */
import { ERROR_CODES, ERROR_FAMILIES, type ErrorCode, WIRE_CODES } from './error-codes.js';

export const ERROR_TABLE_BEGIN =
  '<!-- error-codes:begin (generated from src/errors/error-codes.ts: node dist/scripts/error-code-table.js) -->';
export const ERROR_TABLE_END = '<!-- error-codes:end -->';

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The markdown between the markers: families, wire codes, every local code. */
export function errorCodeTableMarkdown(): string {
  const families = Object.entries(ERROR_FAMILIES).map(
    ([name, f]) => `| ${name} | ${f.prefixes.map((p) => `\`${p}\``).join(', ')} | ${cell(f.raisedBy)} |`,
  );
  const wire = WIRE_CODES.map((w) => `| ${w.code} | ${cell(w.meaning)} |`);
  const codes = (Object.keys(ERROR_CODES) as ErrorCode[])
    .sort()
    .map((code) => `| \`${code}\` | ${ERROR_CODES[code].family} | ${cell(ERROR_CODES[code].meaning)} |`);
  return [
    '| family | prefixes | raised by |',
    '|---|---|---|',
    ...families,
    '',
    '| JSON-RPC code | meaning |',
    '|---|---|',
    ...wire,
    '',
    `<details><summary>All ${codes.length} codes</summary>`,
    '',
    '| code | family | meaning |',
    '|---|---|---|',
    ...codes,
    '',
    '</details>',
  ].join('\n');
}

/** `readme` with the block between the markers replaced by {@link errorCodeTableMarkdown}. */
export function replaceErrorCodeTable(readme: string): string {
  const begin = readme.indexOf(ERROR_TABLE_BEGIN);
  const end = readme.indexOf(ERROR_TABLE_END);
  if (begin < 0 || end < begin) throw new Error('README.md has no error-code markers');
  return `${readme.slice(0, begin + ERROR_TABLE_BEGIN.length)}\n${errorCodeTableMarkdown()}\n${readme.slice(end)}`;
}
