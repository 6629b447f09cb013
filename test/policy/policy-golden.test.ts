/**
 * Golden policy files (test/policy/golden/*.yaml). Each broken file lists the problems it must produce
 * in `# expect: <line> <path> :: <message excerpt>` comments (path `-` for none); a file without
 * expectations must load. Every problem is reported with its line and field, nothing more, nothing less.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigValidationError } from '../../src/config/load-yaml.js';
import { ConfigError } from '../../src/errors/airlock-error.js';
import { loadPolicyFile, parsePolicy } from '../../src/policy/policy-loader.js';

// Compiled to dist/test/policy/: the YAML files stay in the source tree.
const GOLDEN = fileURLToPath(new URL('../../../test/policy/golden/', import.meta.url));

interface Expectation {
  line: number;
  path: string;
  excerpt: string;
}

function expectationsOf(text: string): Expectation[] {
  const out: Expectation[] = [];
  for (const m of text.matchAll(/^# expect: (\d+) (\S+) :: (.+)$/gm)) {
    out.push({ line: Number(m[1]), path: m[2] === '-' ? '' : (m[2] ?? ''), excerpt: m[3] ?? '' });
  }
  return out;
}

const files = readdirSync(GOLDEN)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('policy golden files', () => {
  test('the golden set is present', () => {
    assert.ok(files.length >= 10, `found ${files.length} golden files in ${GOLDEN}`);
    assert.ok(files.includes('valid-full.yaml'));
  });

  for (const name of files) {
    const file = join(GOLDEN, name);
    const expected = expectationsOf(readFileSync(file, 'utf8'));
    test(`${name}: ${expected.length === 0 ? 'loads' : `${expected.length} problem(s) with line and field`}`, async () => {
      if (expected.length === 0) {
        const loaded = await loadPolicyFile(file);
        assert.equal(loaded.source, file);
        assert.match(loaded.hash, /^[0-9a-f]{64}$/);
        return;
      }
      await assert.rejects(loadPolicyFile(file), (e: unknown) => {
        assert.ok(e instanceof ConfigValidationError, String(e));
        assert.ok(e instanceof ConfigError);
        assert.equal(e.code, 'AIRLOCK_CONFIG_INVALID');
        assert.equal(e.file, file);
        const actual = e.issues.map((i) => ({ line: i.line, path: i.path, message: i.message }));
        assert.equal(actual.length, expected.length, JSON.stringify(actual, null, 2));
        expected.forEach((want, k) => {
          const got = actual[k];
          assert.ok(got, `missing issue ${k}`);
          assert.equal(got.line, want.line, JSON.stringify(got));
          assert.equal(got.path, want.path, JSON.stringify(got));
          assert.ok(got.message.includes(want.excerpt), `"${got.message}" should contain "${want.excerpt}"`);
        });
        // The message a human reads starts with file:line and names the field.
        const [first] = expected;
        assert.equal(e.line, first?.line);
        const prefix = `${file}:${first?.line}: ${first?.path ? `${first.path}: ` : ''}`;
        assert.ok(e.message.startsWith(prefix), `${e.message} should start with ${prefix}`);
        return true;
      });
    });
  }

  // Kept inline: a YAML file with a syntax error would trip the repository's formatter.
  test('a YAML syntax error is reported with its line', () => {
    const text = ['roles:', '  claims:', '    tools: ["erp.*"]', '   prompts: []', ''].join('\n');
    assert.throws(
      () => parsePolicy(text, 'inline.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof ConfigValidationError);
        assert.equal(e.line, 4);
        assert.equal(e.issues.length, 1);
        assert.match(e.message, /^inline\.yaml:4: YAML syntax error: /);
        return true;
      },
    );
  });
});
