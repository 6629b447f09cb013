/**
 * Loads the policy file: YAML → `policySchema` (via `parseYamlConfig`, so every problem names its line
 * and field) → compiled `PolicyEngine`, together with the exact text and its SHA-256, which is what
 * the store records as a policy version.
 *
 * @example
 * const loaded = await loadPolicyFile('/etc/airlock/policy.yaml');
 * loaded.engine.canCall(identity, 'erp.list_claims');
 * loaded.hash; // sha256 hex of the file's bytes as read
 */
import { createHash } from 'node:crypto';
import { parseYamlConfig, readConfigText } from '../config/load-yaml.js';
import { compilePolicy, type PolicyEngine } from './policy-engine.js';
import { type Policy, policySchema } from './policy-schema.js';

/** A policy as loaded: source, text, hash, validated document and compiled engine. */
export interface LoadedPolicy {
  /** The file path (or another name for the source, e.g. `admin-api`). */
  source: string;
  text: string;
  /** SHA-256 (hex) of `text` (UTF-8). */
  hash: string;
  policy: Policy;
  engine: PolicyEngine;
}

/**
 * Parses and compiles policy text. Throws `ConfigValidationError` (code `AIRLOCK_CONFIG_INVALID`,
 * `.line`, `.issues` with line/path/message each) when the YAML or the policy is invalid.
 *
 * @example
 * const loaded = parsePolicy('roles:\n  reader:\n    tools: ["erp.list_*"]\n', 'inline.yaml');
 */
export function parsePolicy(text: string, source: string): LoadedPolicy {
  const policy = parseYamlConfig(text, policySchema, source);
  return { source, text, hash: policyHash(text), policy, engine: compilePolicy(policy) };
}

/**
 * Reads, parses and compiles a policy file. Throws `ConfigError` when the file cannot be read or is
 * larger than `maxBytes` (default `DEFAULT_MAX_CONFIG_BYTES`), `ConfigValidationError` when invalid.
 *
 * @example
 * const { engine } = await loadPolicyFile('policy.yaml');
 */
export async function loadPolicyFile(file: string, opts: { maxBytes?: number } = {}): Promise<LoadedPolicy> {
  return parsePolicy(await readConfigText(file, opts), file);
}

/** SHA-256 (hex) of the policy text as UTF-8. */
export function policyHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
