/**
 * The hot path's single serialisation of a result (src/gateway/json-measure.ts) gives exactly what the
 * reference functions give — size = `jsonBytes`, hash = `sha256Canonical` (RFC 8785) — for any JSON
 * value, and falls back to them for values outside plain JSON data (integer-like keys, `toJSON`,
 * `undefined`, lone surrogates, cycles), throwing where they throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { measureJson, measureResult } from '../../src/gateway/json-measure.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { jsonBytes } from '../../src/json/json-bytes.js';

function same(value: unknown): void {
  const m = measureJson(value);
  assert.equal(m.bytes, jsonBytes(value));
  assert.equal(m.sha256, sha256Canonical(value));
}

describe('measureJson', () => {
  it('matches jsonBytes and sha256Canonical for arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => same(value)),
      { numRuns: 500 },
    );
  });

  it('matches for arbitrary objects with awkward keys and strings', () => {
    const key = fc.oneof(
      fc.string(),
      fc.constantFrom('1', '10', '9', '__proto__', 'toJSON', '', 'é', '\u{1F600}'),
    );
    const leaf = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(key, tie('node'))),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        let expected: string | Error;
        try {
          expected = sha256Canonical(v);
        } catch (err) {
          expected = err as Error;
        }
        const m = measureJson(v);
        assert.equal(m.bytes, jsonBytes(v));
        if (expected instanceof Error) assert.throws(() => m.sha256);
        else assert.equal(m.sha256, expected);
      }),
      { numRuns: 500 },
    );
  });

  it('takes the reference path for values JSON rewrites', () => {
    same({ b: undefined, a: [undefined, () => 1], d: new Date(0), n: Number.NaN, i: -0 });
    same({ toJSON: () => ({ z: 1, y: 2 }) });
    same({ 10: 'x', 9: 'y', a: 'z' });
    same(Object.assign(Object.create(null), { b: 1, a: 2 }));
  });

  it('refuses a lone surrogate as canonicalize does, and a cycle as JSON does', () => {
    assert.throws(() => measureJson({ text: 'a\ud800b' }).sha256, /Lone surrogate/);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.throws(() => measureJson(cyclic));
  });

  it('measures a large result once per request and hands the same figures to every stage that asks', () => {
    const result = { content: [{ type: 'text', text: 'x'.repeat(1 << 20) }], isError: false };
    const ctx = {};
    const first = measureResult(ctx, result);
    assert.equal(measureResult(ctx, result), first);
    assert.equal(first.bytes, jsonBytes(result));
    assert.equal(first.sha256, sha256Canonical(result));
    const other = { content: [] };
    assert.equal(measureResult(ctx, other).sha256, sha256Canonical(other), 'another result is measured anew');
    assert.notEqual(measureResult({}, result), first, 'another request measures its own result');
  });
});
