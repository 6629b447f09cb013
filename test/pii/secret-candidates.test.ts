/**
 * The secret detector's one-pass candidate scan (`entropyCandidates`) finds exactly the matches of the
 * regular expression it replaced, `/[A-Za-z0-9+/_-]{16,4096}={0,2}/g`: property-tested on texts made of
 * run characters, `=`, separators and non-ASCII, with runs around the 16 and 4096 boundaries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { entropyCandidates } from '../../src/pii/detectors/secret.js';

const REFERENCE = /[A-Za-z0-9+/_-]{16,4096}={0,2}/g;

function reference(text: string): { index: number; value: string }[] {
  return [...text.matchAll(REFERENCE)].map((m) => ({ index: m.index, value: m[0] }));
}

/** A piece of text: a run of one class character of a chosen length, `=` signs, or a separator. */
const piece = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('a', 'Z', '7', '+', '/', '_', '-'),
      fc.constantFrom(1, 5, 15, 16, 17, 40, 4095, 4096, 4097, 8200),
    )
    .map(([ch, n]) => ch.repeat(n)),
  fc.constantFrom('=', '==', '===', ' ', '.', '\n', 'é', '😀', ':', '"'),
  fc.string({ unit: fc.constantFrom('a', 'B', '3', '+', '/', '=', ' ', '-', '_', '.'), maxLength: 40 }),
);

describe('secret detector: entropy candidates in one pass', () => {
  it('finds the same matches as the regular expression, on arbitrary texts', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = pieces.join('');
        assert.deepEqual(entropyCandidates(text), reference(text));
      }),
      { numRuns: 400 },
    );
  });

  it('on the edges by name', () => {
    for (const text of [
      '',
      'a'.repeat(15),
      'a'.repeat(16),
      `${'a'.repeat(16)}==`,
      `${'a'.repeat(16)}===b`,
      `x ${'Q'.repeat(4096)}==`,
      `${'Q'.repeat(4097)}=`,
      `${'Q'.repeat(4096 + 15)}==`,
      `${'Q'.repeat(4096 + 16)}==`,
      `${'Q'.repeat(3 * 4096)}`,
      `${'Q'.repeat(1 << 20)}=`, // a 1 MiB run: linear, no deep backtracking
      `${'a'.repeat(20)}==${'b'.repeat(20)}`,
      'The quick brown fox jumps over the lazy dog, twice.',
    ]) {
      assert.deepEqual(entropyCandidates(text), reference(text), JSON.stringify(text.slice(0, 40)));
    }
  });
});
