import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { editDistance, suggest } from '../../src/config/did-you-mean.js';
import { ConfigValidationError, loadYamlFile, parseYamlConfig } from '../../src/config/load-yaml.js';
import { ConfigError } from '../../src/errors/airlock-error.js';

const Upstream = z.strictObject({
  command: z.string(),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).optional(),
});
const Config = z.strictObject({
  tenant: z.string(),
  listen: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.number().int().min(1).max(65535) }),
  mode: z.enum(['enforce', 'observe']).default('enforce'),
  upstreams: z.record(z.string(), Upstream),
});

function failure(text: string): ConfigValidationError {
  try {
    parseYamlConfig(text, Config, 'connector.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigValidationError, `expected ConfigValidationError, got ${String(e)}`);
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'AIRLOCK_CONFIG_INVALID');
    assert.equal(e.file, 'connector.yaml');
    return e;
  }
  assert.fail('expected the config to be rejected');
}

describe('parseYamlConfig: valid files and unknown keys', () => {
  test('a valid file parses, with defaults applied', () => {
    const config = parseYamlConfig(
      [
        'tenant: acme',
        'listen:',
        '  port: 8443',
        'upstreams:',
        '  erp:',
        '    command: node',
        '    args: [erp.js]',
        '',
      ].join('\n'),
      Config,
      'connector.yaml',
    );
    assert.deepEqual(config, {
      tenant: 'acme',
      listen: { host: '127.0.0.1', port: 8443 },
      mode: 'enforce',
      upstreams: { erp: { command: 'node', args: ['erp.js'] } },
    });
  });

  test('a typo in a key reports its line, path and a suggestion, plus the missing required key', () => {
    const e = failure(
      ['tenant: acme', 'listen:', '  port: 8443', 'upstreams:', '  erp:', '    comand: node', ''].join('\n'),
    );
    // Issues are sorted by line: the missing key is reported where its parent `erp:` is written.
    assert.equal(e.line, 5);
    assert.deepEqual(e.issues, [
      { line: 5, path: 'upstreams.erp.command', message: 'required, expected string' },
      { line: 6, path: 'upstreams.erp.comand', message: 'unknown key "comand" (did you mean "command"?)' },
    ]);
    assert.match(e.message, /^connector\.yaml:5: upstreams\.erp\.command: required, expected string$/m);
    assert.match(
      e.message,
      /^connector\.yaml:6: upstreams\.erp\.comand: unknown key "comand" \(did you mean "command"\?\)$/m,
    );
  });

  test('an unknown key with no close match lists the expected keys', () => {
    const e = failure(['tenant: acme', 'listen: { port: 1 }', 'upstreams: {}', 'zzzzzz: 1', ''].join('\n'));
    assert.equal(e.issues.length, 1);
    assert.equal(e.line, 4);
    assert.match(
      e.message,
      /zzzzzz: unknown key "zzzzzz" \(expected one of: tenant, listen, mode, upstreams\)/,
    );
  });
});

describe('parseYamlConfig: wrong types and values', () => {
  test('a wrong type reports the line, the path and the expected type', () => {
    const e = failure(
      [
        'tenant: acme',
        'listen:',
        '  port: "8443"',
        'upstreams:',
        '  erp:',
        '    command: node',
        '    args: [a, 2]',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      e.issues.map((i) => [i.line, i.path]),
      [
        [3, 'listen.port'],
        [7, 'upstreams.erp.args[1]'],
      ],
    );
    assert.match(e.issues[0]?.message ?? '', /expected number, received string/);
    assert.match(e.issues[1]?.message ?? '', /expected string, received number/);
    assert.equal(e.line, 3);
    assert.equal(e.message.split('\n').length, 2, 'one line per issue');
  });

  test('an invalid enum value suggests the closest option', () => {
    const e = failure(
      ['tenant: acme', 'listen: { port: 1 }', 'mode: enforced', 'upstreams: {}', ''].join('\n'),
    );
    assert.equal(e.line, 3);
    assert.match(e.message, /mode: .*expected one of.*\(did you mean "enforce"\?\)/);
  });
});

describe('parseYamlConfig: broken and hostile YAML', () => {
  test('bad YAML syntax reports the line', () => {
    const e = failure(['tenant: acme', 'listen:', '  port: [1, 2', 'upstreams: {}', ''].join('\n'));
    assert.ok(e.line !== undefined && e.line >= 3, `line ${e.line}`);
    assert.match(e.message, /YAML syntax error/);

    const dup = failure(['tenant: acme', 'tenant: globex', ''].join('\n'));
    assert.equal(dup.line, 2);
    assert.match(dup.message, /unique|duplicate/i);

    const tab = failure(['tenant: acme', 'listen:', '\tport: 1', ''].join('\n'));
    assert.equal(tab.line, 3);
  });

  test('an empty document says an object was expected', () => {
    const e = failure('');
    assert.equal(e.issues.length, 1);
    assert.match(e.message, /expected object/);
  });

  test('alias bombs are refused', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const e = failure(lines.join('\n'));
    assert.match(e.message, /alias/i);
  });
});

describe('loadYamlFile', () => {
  test('reads a file, and reports a missing file as a ConfigError naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-config-'));
    try {
      const file = join(dir, 'connector.yaml');
      await writeFile(file, 'tenant: acme\nlisten: { port: 9 }\nupstreams: {}\n');
      assert.equal((await loadYamlFile(file, Config)).listen.port, 9);
      await writeFile(file, 'tenant: acme\nlisten: { prot: 9 }\nupstreams: {}\n');
      await assert.rejects(loadYamlFile(file, Config), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.file, file);
        assert.equal(e.line, 2);
        assert.match(e.message, /listen\.prot: unknown key "prot" \(did you mean "port"\?\)/);
        return true;
      });
      await assert.rejects(loadYamlFile(join(dir, 'missing.yaml'), Config), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /missing\.yaml: file not found/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('suggest', () => {
  test('finds close keys and ignores far ones', () => {
    assert.equal(editDistance('comand', 'command'), 1);
    assert.equal(editDistance('potr', 'port'), 1, 'transposition counts once');
    assert.equal(suggest('comand', ['args', 'command', 'env']), 'command');
    assert.equal(suggest('Command', ['command']), 'command');
    assert.equal(suggest('upstream', ['upstreams', 'tenant']), 'upstreams');
    assert.equal(suggest('xyz', ['command', 'args']), undefined);
    assert.equal(suggest('ab', ['xy']), undefined);
  });
});
