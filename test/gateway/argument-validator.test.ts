/** Argument stripping, problem messages and the compile-once validator cache. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  combinedSchema,
  describeProblems,
  SchemaValidatorCache,
  stripUndeclared,
} from '../../src/policy/argument-validator.js';

describe('stripUndeclared', () => {
  const schema = {
    type: 'object',
    properties: {
      q: { type: 'string' },
      filter: { type: 'object', properties: { status: { type: 'string' } } },
      tags: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } } },
      meta: { type: 'object' },
    },
    patternProperties: { '^x-': { type: 'string' } },
  };

  it('removes undeclared properties at every declared level and reports their paths', () => {
    const input = {
      q: 'a',
      debug: true,
      'x-trace': 'ok',
      'odd key': 1,
      filter: { status: 'open', sql: '1=1' },
      tags: [{ k: 'v', extra: 1 }, { k: 'w' }],
      meta: { free: 'form' },
    };
    const { value, stripped } = stripUndeclared(schema, input);
    assert.deepEqual(value, {
      q: 'a',
      'x-trace': 'ok',
      filter: { status: 'open' },
      tags: [{ k: 'v' }, { k: 'w' }],
      meta: { free: 'form' },
    });
    assert.deepEqual(stripped, [
      'arguments.debug',
      'arguments["odd key"]',
      'arguments.filter.sql',
      'arguments.tags[0].extra',
    ]);
    assert.equal(input.debug, true, 'the input is not mutated');
  });

  it('returns the same object when nothing is stripped', () => {
    const input = { q: 'a' };
    assert.equal(stripUndeclared(schema, input).value, input);
  });

  it('keeps extras where the schema admits them, and leaves $ref levels alone', () => {
    assert.deepEqual(
      stripUndeclared({ type: 'object', properties: {}, additionalProperties: true }, { a: 1 }).stripped,
      [],
    );
    assert.deepEqual(
      stripUndeclared({ type: 'object', properties: {}, additionalProperties: { type: 'number' } }, { a: 1 })
        .stripped,
      [],
    );
    assert.deepEqual(stripUndeclared({ $ref: '#/$defs/x' }, { a: 1 }).stripped, []);
  });

  it('a root { type: object } declares no arguments; allOf/anyOf branches declare properties', () => {
    assert.deepEqual(stripUndeclared({ type: 'object' }, { a: 1 }).value, {});
    const branches = {
      type: 'object',
      anyOf: [{ properties: { a: { type: 'number' } } }, { properties: { b: { type: 'number' } } }],
    };
    assert.deepEqual(stripUndeclared(branches, { a: 1, b: 2, c: 3 }).stripped, ['arguments.c']);
  });
});

describe('describeProblems', () => {
  it('names the path and exactly what is expected', () => {
    const cache = new SchemaValidatorCache();
    const compiled = cache.get('k', () =>
      combinedSchema(
        {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          properties: {
            limit: { type: 'integer', maximum: 100 },
            mode: { enum: ['a', 'b'] },
            email: { type: 'string', format: 'email' },
            items: {
              type: 'array',
              items: { type: 'object', properties: { n: { type: 'string' } }, required: ['n'] },
            },
          },
          required: ['mode'],
        },
        { properties: { limit: { maximum: 50 } } },
      ),
    );
    assert.ok(compiled.ok);
    assert.equal(compiled.validate({ mode: 'a', limit: 50 }), true);
    assert.equal(compiled.validate({ limit: 60, email: 'nope', items: [{}] }), false);
    const messages = describeProblems(compiled.validate.errors).map((p) => p.message);
    assert.deepEqual(messages.sort(), [
      'arguments.email must match format "email"',
      'arguments.items[0].n is required',
      'arguments.limit must be <= 50',
      'arguments.mode is required',
    ]);
    assert.equal(compiled.validate({ mode: 'c' }), false);
    assert.deepEqual(
      describeProblems(compiled.validate.errors).map((p) => p.message),
      ['arguments.mode must be one of: "a", "b"'],
    );
  });

  it('compiles once per key, and caches a schema that cannot be compiled as unusable', () => {
    const cache = new SchemaValidatorCache({ maxEntries: 2 });
    let builds = 0;
    const build = () => {
      builds++;
      return { type: 'object', properties: { a: { type: 'string' } } };
    };
    const first = cache.get('h1', build);
    assert.equal(cache.get('h1', build), first);
    assert.equal(builds, 1);
    cache.get('h2', build);
    cache.get('h3', build);
    assert.equal(cache.size, 2, 'bounded');
    const broken = cache.get('bad', () => ({ type: 'no-such-type' }));
    assert.equal(broken.ok, false);
    // Two tools declaring the same $id do not clash.
    assert.ok(cache.get('id1', () => ({ $id: 'https://x/s', type: 'string' })).ok);
    assert.ok(cache.get('id2', () => ({ $id: 'https://x/s', type: 'number' })).ok);
  });
});
