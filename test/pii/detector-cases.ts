/**
 * Table-driven detector tests: what a detector finds in a text (optionally under a JSON key), and case
 * tables written one case a line as `text → expected value`.
 *
 * @example
 * const found = valuesFoundBy(dateOfBirthDetector());
 * assertFinds(found, `
 *   DOB: 1985-03-12 → 1985-03-12
 *   geboren am 12.03.1985 → 12.03.1985
 * `);
 */
import assert from 'node:assert/strict';
import type { PiiDetector } from '../../src/pii/pii-types.js';

/** The values `detector` finds in `text` (with `key`, as the value of that JSON key). */
export function valuesFoundBy(detector: PiiDetector): (text: string, key?: string) => string[] {
  return (text, key) => detector.detect(text, key === undefined ? undefined : { key }).map((s) => s.value);
}

/** Parses a case table: one `text → expected` a line; blank lines are skipped. */
export function caseTable(table: string): [text: string, expected: string][] {
  return table
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const at = line.lastIndexOf(' → ');
      assert.ok(at > 0, `a case is "text → expected": ${line}`);
      return [line.slice(0, at), line.slice(at + 3)];
    });
}

/** Every text of the table yields exactly its expected value, nothing more. */
export function assertFinds(found: (text: string) => string[], table: string): void {
  const cases = caseTable(table);
  assert.ok(cases.length > 0, 'the table has cases');
  for (const [text, expected] of cases) assert.deepEqual(found(text), [expected], text);
}
