/**
 * The one-pass canonical serializer (src/json/canonical-plain.ts) against the reference path it
 * replaces on the hot path: the `canonicalize` package over the value as JSON reads it back. For every
 * value, `canonicalJson` gives the reference's text or throws where the reference throws, and the
 * fast path, whenever it answers, answers byte for byte the same.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalJson, toJsonValue } from '../../src/json/canonical-json.js';
import {
  PLAIN_CANONICAL_MAX_DEPTH,
  plainCanonicalJson,
  plainCanonicalSplit,
} from '../../src/json/canonical-plain.js';

/** The pre-change implementation, straight from the package (not through any Airlock code path). */
function reference(value: unknown): string {
  return canonicalize(toJsonValue(value) ?? null) ?? 'null';
}

type Outcome = { text: string } | { threw: true };

function outcome(fn: () => string): Outcome {
  try {
    return { text: fn() };
  } catch {
    return { threw: true };
  }
}

function sameAsReference(value: unknown): void {
  const expected = outcome(() => reference(value));
  assert.deepEqual(
    outcome(() => canonicalJson(value)),
    expected,
  );
  const fast = plainCanonicalJson(value);
  if (fast !== undefined) assert.deepEqual({ text: fast }, expected);
}

const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: anyCodeUnit }), // lone surrogates, controls, anything
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(
    '',
    '\ud800',
    'a\udc00b',
    '\ud83d\ude00',
    '\u2028\u2029',
    '\u007f',
    '"\\/',
    '\u0000\u001f',
    'é€',
  ),
);
const key = fc.oneof(
  text,
  fc.constantFrom(
    '0',
    '1',
    '9',
    '10',
    '01',
    '-1',
    '4294967294',
    '4294967295',
    '__proto__',
    'toJSON',
    'hash',
    'v',
  ),
);
const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    -0,
    1e21,
    1e-7,
    5e-7,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 64,
    0.1 + 0.2,
    1e-6,
    Number('333333333.33333329'),
  ),
  fc.constantFrom(Number.MAX_VALUE, Number.MIN_VALUE, Number.NaN, Number.POSITIVE_INFINITY, -1e308 * 10),
);
const odd = fc.constantFrom<unknown>(
  undefined,
  new Date(0),
  { toJSON: () => ({ z: 1, a: [undefined] }) },
  Object.assign(Object.create(null), { b: 1, a: 2 }),
  new (class Point {
    x = 1;
  })(),
  new String('boxed'),
  new Map([['a', 1]]),
  () => 1,
  Symbol('s'),
  10n,
);
const leaf = fc.oneof(text, number, fc.boolean(), fc.constant(null), odd);
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('node')),
    fc.dictionary(key, tie('node')),
    fc.sparseArray(tie('node')),
  ),
})).node;

describe('plain canonical JSON = canonicalize (RFC 8785)', () => {
  it('answers every JSON value on the fast path, byte for byte as the reference', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        assert.equal(plainCanonicalJson(v), reference(v));
      }),
      { numRuns: 1000 },
    );
  });

  it('matches the reference (or throws where it throws) for arbitrary JS values', () => {
    fc.assert(fc.property(value, sameAsReference), { numRuns: 3000 });
  });

  it('matches on the edge cases by name', () => {
    const cases: unknown[] = [
      -0,
      [-0, 1e21, 5e-7, 1e-7, 2 ** 64, Number('9007199254740993'), Number.MIN_VALUE],
      { '\ud83d\ude00': 1, '\ufb33': 2, '\u20ac': 3, '\r': 4, '1': 5, '10': 6, '9': 7, a: 8, B: 9 },
      { b: undefined, a: [undefined, 1], c: null },
      { when: new Date(0), nested: { toJSON: () => 'x' } },
      JSON.parse('{"__proto__": {"x": 1}, "a": 1}'),
      { s: 'line\nbreak\ttab "quote" back\\slash \u0000 \u001f \u007f \u2028 é 😀' },
      { lone: 'a\ud800' },
      { escapedLookalike: '\\ud800 is text, not a surrogate', '2': [{ '10': 1, '9': 2 }] },
      { '\udc00': 1 },
      [Number.NaN, Number.POSITIVE_INFINITY],
      { big: 1n },
      undefined,
    ];
    for (const c of cases) sameAsReference(c);
    assert.equal(
      plainCanonicalJson({ lone: 'a\ud800' }),
      undefined,
      'a lone surrogate takes the reference path',
    );
    assert.throws(() => canonicalJson({ lone: 'a\ud800' }), /Lone surrogate/);
    assert.equal(plainCanonicalJson(-0), '0');
    assert.equal(plainCanonicalJson({ b: 1, 10: 2, 9: 3 }), '{"10":2,"9":3,"b":1}');
    assert.equal(
      plainCanonicalJson({ s: '\\ud800' }),
      '{"s":"\\\\ud800"}',
      'a backslash before "ud" is no surrogate',
    );
  });
});

describe('plain canonical JSON: limits and splitting', () => {
  it('sends cycles and very deep nesting to the reference path', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.equal(plainCanonicalJson(cyclic), undefined);
    assert.throws(() => canonicalJson(cyclic), /circular/i);
    let deep: unknown = 1;
    for (let i = 0; i < PLAIN_CANONICAL_MAX_DEPTH + 5; i++) deep = [deep];
    assert.equal(plainCanonicalJson(deep), undefined);
    assert.equal(canonicalJson(deep), reference(deep));
  });

  it('splits an object around a new member so that adding it gives the canonical text', () => {
    fc.assert(
      fc.property(fc.dictionary(key, value), key, fc.jsonValue(), (record, name, added) => {
        const split = plainCanonicalSplit(record, name);
        const fast = plainCanonicalJson(record);
        if (!split) {
          assert.ok(fast === undefined || (Object.hasOwn(record, name) && record[name] !== undefined));
          return;
        }
        const { before, after } = split;
        assert.equal(`{${before}${before && after ? ',' : ''}${after}}`, fast);
        const whole = { ...record, [name]: added };
        sameAsReference(whole);
        const expected = outcome(() => reference(whole));
        if (!('text' in expected)) return; // a lone surrogate in the name: refused either way
        const member = `${JSON.stringify(name)}:${reference(added)}`;
        assert.equal(`{${before}${before ? ',' : ''}${member}${after ? ',' : ''}${after}}`, expected.text);
      }),
      { numRuns: 1000 },
    );
    assert.equal(plainCanonicalSplit([1, 2] as unknown as object, 'a'), undefined);
    assert.equal(plainCanonicalSplit({ a: 1 }, 'a'), undefined, 'the member must be new');
  });
});
