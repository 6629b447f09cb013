/**
 * Property-based tests (fast-check) of every parser that touches outside bytes: a few hundred random
 * inputs each here, a long run with `npm run fuzz -- --runs N` (scripts/fuzz.ts, same targets). Each
 * finding of the fuzz loop is pinned below as a regression case.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseYamlConfig } from '../../src/config/load-yaml.js';
import { connectorConfigSchema } from '../../src/connector/config-schema.js';
import { ConfigError } from '../../src/errors/airlock-error.js';
import { parseClientHello } from '../../src/net/client-hello.js';
import { type EndpointFuzz, startEndpointFuzz } from './endpoint-target.js';
import { buildClientHello, checkTarget, PARSER_TARGETS } from './parser-targets.js';

describe('parsers never misbehave on random input', () => {
  for (const target of PARSER_TARGETS) {
    it(target.name, () => {
      const details = checkTarget(target, { numRuns: 300 });
      assert.equal(
        details.failed,
        false,
        `${target.name}: ${String(details.errorInstance ?? '')}\ncounterexample: ${JSON.stringify(details.counterexample)}\nseed ${details.seed}, path ${details.counterexamplePath}`,
      );
    });
  }
});

describe('regressions and fixed cases', () => {
  it('a ClientHello built for a valid name round-trips; uppercase and a trailing dot normalise', () => {
    const result = parseClientHello(buildClientHello('ACME.Example.COM.'));
    assert.deepEqual(result, { kind: 'ok', sni: 'acme.example.com' });
  });

  it('a YAML alias bomb is refused as a configuration error, not expanded', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      lines.push(
        `${next}: &${next} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`,
      );
    }
    lines.push('upstreams: *i');
    assert.throws(
      () => parseYamlConfig(lines.join('\n'), connectorConfigSchema, 'bomb.yaml'),
      (err: unknown) => err instanceof ConfigError && /bomb\.yaml/.test(err.message),
    );
  });
});

describe('JSON-RPC at the endpoint (real TLS, real SDK, random messages)', () => {
  let fuzz: EndpointFuzz;
  before(async () => {
    fuzz = await startEndpointFuzz();
  });
  after(() => fuzz.close());

  it('every answer is a bounded, well-formed refusal or result; the endpoint keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fuzz.arbitrary, (input) => fuzz.check(input)),
      { numRuns: 60 },
    );
    await fuzz.healthy();
  });
});
