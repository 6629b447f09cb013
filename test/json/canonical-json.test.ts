import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { entryHash } from '../../src/audit/audit-entry.js';
import { definitionOf } from '../../src/catalog/tool-definition.js';
import { sha256Canonical, sha256Hex } from '../../src/json/canonical-hash.js';
import { canonicalJson, prettyCanonical, toJsonValue } from '../../src/json/canonical-json.js';

// RFC 8785 section 3.2.2 (the sample input and its canonical form).
const RFC_INPUT = JSON.parse(
  '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
    ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
    ' "literals": [null, true, false]}',
);
const RFC_OUTPUT =
  '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
  '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';

// RFC 8785 section 3.2.3: property names sort by UTF-16 code units, not code points.
const RFC_SORT_INPUT = JSON.parse(
  '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
    ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
    ' "\\u00f6": "Latin Small Letter O With Diaeresis"}',
);
const RFC_SORT_ORDER = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'];

describe('canonical JSON (RFC 8785)', () => {
  it('encodes the RFC sample exactly', () => {
    assert.equal(canonicalJson(RFC_INPUT), RFC_OUTPUT);
  });

  it('sorts property names by UTF-16 code units (RFC 8785 3.2.3), in both layouts', () => {
    // Compared as text: Object.keys would put the integer-like "1" first whatever the text says.
    const members = RFC_SORT_ORDER.map((k) => `${JSON.stringify(k)}:${JSON.stringify(RFC_SORT_INPUT[k])}`);
    assert.equal(canonicalJson(RFC_SORT_INPUT), `{${members.join(',')}}`);
    const pretty = prettyCanonical(RFC_SORT_INPUT);
    const prettyKeys = [...pretty.matchAll(/^ {2}("(?:[^"\\]|\\.)*"): /gm)].map((m) =>
      JSON.parse(m[1] as string),
    );
    assert.deepEqual(prettyKeys, RFC_SORT_ORDER);
    assert.equal(canonicalJson(JSON.parse(pretty)), canonicalJson(RFC_SORT_INPUT));
  });

  it('serializes numbers as ECMAScript does (RFC 8785 appendix B)', () => {
    const vectors: Array<[number, string]> = [
      [0, '0'],
      [-0, '0'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [Number.MIN_VALUE, '5e-324'],
      [Number.MAX_VALUE, '1.7976931348623157e+308'],
      [9007199254740992, '9007199254740992'],
      [295147905179352830000, '295147905179352830000'],
      [0.000001, '0.000001'],
    ];
    for (const [value, text] of vectors) assert.equal(canonicalJson(value), text, String(value));
  });

  it('sees values as a JSON reader does: undefined dropped, toJSON applied, unrepresentable → null', () => {
    assert.equal(canonicalJson({ b: undefined, a: new Date(0) }), '{"a":"1970-01-01T00:00:00.000Z"}');
    assert.equal(canonicalJson(undefined), 'null');
    assert.equal(
      canonicalJson(() => 1),
      'null',
    );
    assert.equal(canonicalJson([undefined, Number.NaN]), '[null,null]');
    assert.deepEqual(toJsonValue({ a: undefined, b: [1] }), { b: [1] });
    assert.equal(toJsonValue(undefined), undefined);
  });

  it('lays out one member per line for diffs without changing the canonical value', () => {
    assert.equal(
      prettyCanonical({ b: 1, a: { d: 2, c: 3 } }),
      '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}',
    );
    assert.equal(prettyCanonical([]), '[]');
    assert.equal(prettyCanonical({ x: undefined }), '{}');
    assert.equal(canonicalJson(JSON.parse(prettyCanonical(RFC_INPUT))), RFC_OUTPUT);
  });

  it('hashes the canonical bytes: one hash for the audit trail and the tool catalog', () => {
    const expected = createHash('sha256').update(Buffer.from(RFC_OUTPUT, 'utf8')).digest('hex');
    assert.equal(sha256Canonical(RFC_INPUT), expected);
    assert.equal(sha256Hex(RFC_OUTPUT), expected);
    // An audit entry and a tool definition with the same members hash the same canonical bytes.
    const tool = { name: 'erp_lookup', description: 'Grüße €', inputSchema: { type: 'object', b: 1, a: 2 } };
    const { canonical, hash } = definitionOf(tool);
    assert.equal(canonical, canonicalJson(tool));
    assert.equal(hash, entryHash({ ...tool, hash: 'ignored' }));
    // Key order and whitespace of the input never change the pin.
    const reordered = JSON.parse(
      `{ "inputSchema": {"a":2,"b":1,"type":"object"}, "description": "Grüße €", "name": "erp_lookup" }`,
    );
    assert.equal(definitionOf(reordered).hash, hash);
  });

  it('a changed value changes the hash (a rug pull is not canonicalized away)', () => {
    const a = sha256Canonical({ description: 'Reads an order' });
    assert.notEqual(sha256Canonical({ description: 'Reads an order ' }), a);
    assert.notEqual(sha256Canonical({ description: 'Reads an order', extra: null }), a);
    assert.notEqual(sha256Canonical({ Description: 'Reads an order' }), a);
  });
});
