import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkJsonBody, DEFAULT_MAX_JSON_DEPTH } from '../../src/mcp/json-body-check.js';

const bytes = (s: string) => new TextEncoder().encode(s);

test('valid bodies pass, brackets inside strings do not count', () => {
  assert.equal(checkJsonBody(bytes('{"a":[1,{"b":"[[[[{{{{\\"]]"}]}')), undefined);
  assert.equal(
    checkJsonBody(bytes(`${'['.repeat(DEFAULT_MAX_JSON_DEPTH)}${']'.repeat(DEFAULT_MAX_JSON_DEPTH)}`)),
    undefined,
  );
});

test('nesting beyond the limit is refused with the limit named', () => {
  const deep = `${'['.repeat(65)}${']'.repeat(65)}`;
  assert.deepEqual(checkJsonBody(bytes(deep)), {
    kind: 'depth',
    message: 'JSON nesting deeper than 64 levels is not accepted',
  });
  assert.equal(checkJsonBody(bytes(deep), { maxDepth: 100 }), undefined);
});

test('invalid UTF-8 is refused, raw bytes', () => {
  assert.equal(checkJsonBody(Uint8Array.from([0x22, 0xff, 0xfe, 0x22]))?.kind, 'encoding');
  assert.equal(checkJsonBody(Uint8Array.from([0x22, 0xc3, 0x22]))?.kind, 'encoding'); // truncated sequence
  assert.equal(checkJsonBody(Uint8Array.from([0x22, 0xc3, 0xa9, 0x22])), undefined); // "é"
});
