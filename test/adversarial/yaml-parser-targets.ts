/**
 * The YAML parsers as fast-check targets (see ./parser-targets.ts): the connector config, the policy
 * file and the sandbox block. Any text, including mutations of a valid file, yields a value or a
 * `ConfigError` (`AIRLOCK_CONFIG_INVALID`) naming the file or the field; never anything else.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseYamlConfig } from '../../src/config/load-yaml.js';
import { connectorConfigSchema } from '../../src/connector/config-schema.js';
import { ConfigError } from '../../src/errors/airlock-error.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { sandboxFromYaml, sandboxYamlSchema } from '../../src/sandbox/sandbox-config.js';
import type { ParserTarget } from './parser-target.js';

const VALID_CONFIG = [
  'dataDir: ./data',
  'relay:',
  '  url: tls://relay.example.com:443',
  '  tunnels: 2',
  'admin:',
  '  listen: 127.0.0.1:7070',
  'upstreams:',
  '  erp:',
  '    command: node',
  '    args: [server.js, --db, ./erp.sqlite]',
  '    sandbox: { mode: required, readWritePaths: [./erp], limits: { processes: 64 } }',
  '  wiki:',
  '    url: http://wiki.internal:8080/mcp',
  '',
].join('\n');

const VALID_POLICY = [
  'version: 1',
  'defaultTier: approve',
  'identities:',
  '  - name: claims-bot',
  '    roles: [claims]',
  'roles:',
  '  claims:',
  '    tools: ["erp.*"]',
  'tools:',
  '  - match: "erp.delete_*"',
  '    tier: block',
  '',
].join('\n');

/** Arbitrary YAML-ish text: random strings, random JSON as YAML, and byte-level edits of a valid file. */
function yamlText(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => stringify(v)),
    fc
      .array(
        fc.tuple(
          fc.nat(),
          fc.oneof(
            fc.constant(''),
            fc.string({ maxLength: 3 }),
            fc.constantFrom(':', '\n', ' ', '-', '[', '{', '&a', '*a', '!!binary', '"'),
          ),
        ),
        {
          minLength: 1,
          maxLength: 4,
        },
      )
      .map((edits) => {
        let text = valid;
        for (const [at, insert] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
        }
        return text;
      }),
  );
}

function onlyConfigErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(
      err instanceof ConfigError,
      `threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`,
    );
    assert.equal(err.code, 'AIRLOCK_CONFIG_INVALID');
    assert.match(err.message, /^config\.yaml|^[^\n]*:/, 'names the file or the field');
  }
}

export const connectorConfigTarget: ParserTarget<string> = {
  name: 'connector-config-yaml',
  arbitrary: yamlText(VALID_CONFIG),
  check(text) {
    onlyConfigErrors(() => parseYamlConfig(text, connectorConfigSchema, 'config.yaml'));
  },
};

export const policyTarget: ParserTarget<string> = {
  name: 'policy-yaml',
  arbitrary: yamlText(VALID_POLICY),
  check(text) {
    onlyConfigErrors(() => parsePolicy(text, 'config.yaml'));
  },
};

export const sandboxBlockTarget: ParserTarget<unknown> = {
  name: 'sandbox-block',
  arbitrary: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record(
      {
        mode: fc.oneof(fc.constantFrom('required', 'preferred', 'off'), fc.string()),
        network: fc.oneof(fc.boolean(), fc.anything()),
        readOnlyPaths: fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }),
        readWritePaths: fc.anything(),
        env: fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
        limits: fc.record({ memoryMb: fc.integer(), processes: fc.integer() }, { requiredKeys: [] }),
        runAs: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('1000:1000')),
      },
      { requiredKeys: [] },
    ),
  ),
  check(value) {
    const parsed = sandboxYamlSchema.safeParse(value);
    if (!parsed.success) return;
    const config = sandboxFromYaml(parsed.data, {
      resolvePath: (p) => (p.startsWith('/') ? p : `/base/${p}`),
      hiddenPaths: ['data'],
    });
    assert.ok(['required', 'preferred', 'off'].includes(config.mode ?? ''));
    assert.deepEqual(config.hiddenPaths, ['/base/data']);
    for (const path of [...(config.readOnlyPaths ?? []), ...(config.readWritePaths ?? [])])
      assert.ok(path.startsWith('/'));
    for (const name of config.env ?? []) assert.match(name, /^[A-Za-z_][A-Za-z0-9_]*$/);
  },
};
