/**
 * Stage 6 of the gateway: `tools/call` arguments must satisfy the tool's input JSON Schema (2020-12) —
 * the PINNED definition's schema, ANDed with the policy's schema overlay for the tool
 * (`{ allOf: [inputSchema, overlay] }`, so an operator can tighten a `maxLength`, an enum, a pattern).
 *
 * - Properties the schema does not declare are stripped before validation and before the upstream sees
 *   them; the stripping is recorded as a `modify` decision `AIRLOCK_ARGUMENTS_STRIPPED` with
 *   `detail.stripped` = the removed paths (e.g. `['arguments.debug']`).
 * - Wrong types, out-of-range values, missing fields → -32602 `AIRLOCK_ARGUMENTS_INVALID` whose message
 *   names each problem and what to do (`arguments.limit must be <= 50; arguments.query is required`),
 *   with `data.problems` = `[{ path, message, keyword }]`.
 * - A schema that cannot be compiled → -32603 `AIRLOCK_SCHEMA_UNUSABLE` (fail closed).
 * - A `when.arguments` condition of a policy rule for the tool that names a property the pinned input
 *   schema does not declare → -32603 `AIRLOCK_POLICY_CONDITION_INVALID` naming the rule and property
 *   (checked once per policy and pinned definition: the policy is wrong, so no call of the tool runs).
 * - A tool served but without an approved definition (the catalog stage normally refuses it first) →
 *   -32003 `AIRLOCK_TOOL_UNPINNED`. Tools no upstream serves pass on (the terminal answers "unknown").
 * - Results: when the tool declares an `outputSchema` and the result is not a tool error, its
 *   `structuredContent` must be present and valid; otherwise the agent gets a tool error result
 *   (`isError: true`) explaining the mismatch (decision `AIRLOCK_OUTPUT_INVALID`), never a crash.
 *
 * Validators are compiled once per (definition hash, overlay) and cached (LRU, `cacheSize`).
 *
 * @example
 * const stage = validate({ policy: () => watcher.engine, definitions: pinning });
 */

import type { ToolDefinitionLookup } from '../../catalog/tool-pinning.js';
import { JSONRPC_INTERNAL_ERROR, JSONRPC_INVALID_PARAMS, WireError } from '../../errors/wire-error.js';
import { canonicalJson } from '../../json/canonical-json.js';
import {
  type ArgumentProblem,
  combinedSchema,
  DEFAULT_VALIDATOR_CACHE_SIZE,
  describeProblems,
  MAX_REPORTED_PROBLEMS,
  SchemaValidatorCache,
  stripUndeclared,
  withoutDialect,
} from '../../policy/argument-validator.js';
import type { PolicyEngine } from '../../policy/policy-engine.js';
import { recordDecision } from '../decision-channel.js';
import type { GatewayContext, Stage } from '../gateway-context.js';
import { type PolicySource, requestedName } from '../policy-source.js';
import { JSONRPC_FORBIDDEN } from '../refusal-codes.js';

/** Stage name in decisions. */
export const VALIDATE_STAGE = 'validate';

export interface ValidateOptions {
  /** The policy in force (for schema overlays), read per request. Usually `() => watcher.engine`. */
  policy: PolicySource;
  /** Approved tool definitions, usually the connector's `ToolPinning`. */
  definitions: ToolDefinitionLookup;
  /** Compiled validators kept. Default {@link DEFAULT_VALIDATOR_CACHE_SIZE}. */
  cacheSize?: number;
  /** Validate `structuredContent` against `outputSchema`. Default true. */
  validateOutput?: boolean;
}

const overlayKeys = new WeakMap<object, string>();
const conditionChecks = new WeakMap<PolicyEngine, Map<string, string[]>>();

/** The engine's condition problems for `tool` at pinned definition `hash`, computed once. */
function conditionProblemsOf(
  engine: PolicyEngine,
  tool: string,
  hash: string,
  inputSchema: unknown,
): string[] {
  let byTool = conditionChecks.get(engine);
  if (!byTool) {
    byTool = new Map();
    conditionChecks.set(engine, byTool);
  }
  const key = `${tool}\0${hash}`;
  let problems = byTool.get(key);
  if (problems === undefined) {
    problems = engine.conditionProblemsFor(tool, inputSchema);
    if (byTool.size >= DEFAULT_VALIDATOR_CACHE_SIZE) byTool.clear();
    byTool.set(key, problems);
  }
  return problems;
}

function conditionInvalid(ctx: GatewayContext, tool: string, problems: string[]): WireError {
  const message = `The policy's conditions for tool '${tool}' do not fit its pinned input schema: ${problems.join('; ')}. Fix the policy; the call was refused`;
  recordDecision(ctx, {
    stage: VALIDATE_STAGE,
    outcome: 'deny',
    code: 'AIRLOCK_POLICY_CONDITION_INVALID',
    reason: message,
  });
  return new WireError(JSONRPC_INTERNAL_ERROR, 'AIRLOCK_POLICY_CONDITION_INVALID', message, {
    tool,
    problems,
  });
}

/**
 * See the module comment.
 *
 * @example
 * compose([..., catalogStage({ pinning }), validate({ policy, definitions: pinning })], terminal);
 */
export function validate(options: ValidateOptions): Stage {
  const cache = new SchemaValidatorCache({ maxEntries: options.cacheSize });
  const checkOutput = options.validateOutput ?? true;
  return (next) => async (ctx) => {
    if (ctx.method !== 'tools/call') return next(ctx);
    const name = requestedName(ctx);
    const pinned = options.definitions.definitionOf(name);
    if (pinned === undefined) return next(ctx);
    if (pinned === null) {
      const message = `Tool '${name}' has no approved definition to validate against`;
      recordDecision(ctx, {
        stage: VALIDATE_STAGE,
        outcome: 'deny',
        code: 'AIRLOCK_TOOL_UNPINNED',
        reason: message,
      });
      throw new WireError(JSONRPC_FORBIDDEN, 'AIRLOCK_TOOL_UNPINNED', message, { tool: name });
    }
    const engine = options.policy();
    const conditionProblems = conditionProblemsOf(engine, name, pinned.hash, pinned.tool.inputSchema);
    if (conditionProblems.length > 0) throw conditionInvalid(ctx, name, conditionProblems);
    const overlay = engine.schemaOverlayFor(name);
    const key = `in|${pinned.hash}|${overlay === undefined ? '' : overlayKey(overlay)}`;
    const compiled = cache.get(key, () => combinedSchema(pinned.tool.inputSchema, overlay));
    if (!compiled.ok) throw unusable(ctx, name, 'input', compiled.reason);

    const raw = ctx.params.arguments ?? {};
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw invalid(ctx, name, [
        { path: 'arguments', message: 'arguments must be an object', keyword: 'type' },
      ]);
    }
    const { value, stripped } = stripUndeclared(pinned.tool.inputSchema, raw);
    if (stripped.length > 0) {
      recordDecision(ctx, {
        stage: VALIDATE_STAGE,
        outcome: 'modify',
        code: 'AIRLOCK_ARGUMENTS_STRIPPED',
        reason: `removed properties the schema of '${name}' does not declare`,
        detail: { tool: name, stripped },
      });
      ctx.params = { ...ctx.params, arguments: value };
    }
    if (!compiled.validate(value))
      throw invalid(ctx, name, describeProblems(compiled.validate.errors, 'arguments'));
    recordDecision(ctx, { stage: VALIDATE_STAGE, outcome: 'allow', detail: { tool: name } });

    const result = await next(ctx);
    const outputSchema = pinned.tool.outputSchema;
    if (!checkOutput || outputSchema === undefined || outputSchema === null) return result;
    const r = result as Record<string, unknown>;
    if (r === null || typeof r !== 'object' || r.isError === true) return result;
    const out = cache.get(`out|${pinned.hash}`, () => withoutDialect(outputSchema));
    if (!out.ok) return outputError(ctx, name, `its output schema cannot be used (${out.reason})`);
    if (r.structuredContent === undefined) {
      return outputError(ctx, name, 'it declares an output schema but returned no structuredContent');
    }
    if (!out.validate(r.structuredContent)) {
      const problems = describeProblems(out.validate.errors, 'structuredContent').slice(
        0,
        MAX_REPORTED_PROBLEMS,
      );
      return outputError(ctx, name, problems.map((p) => p.message).join('; '));
    }
    return result;
  };
}

function overlayKey(overlay: object): string {
  let key = overlayKeys.get(overlay);
  if (key === undefined) {
    key = canonicalJson(overlay);
    overlayKeys.set(overlay, key);
  }
  return key;
}

function invalid(ctx: GatewayContext, tool: string, problems: ArgumentProblem[]): WireError {
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS);
  const more = problems.length > shown.length ? ` (and ${problems.length - shown.length} more)` : '';
  const message = `Invalid arguments for tool '${tool}': ${shown.map((p) => p.message).join('; ')}${more}. Fix the arguments and call the tool again.`;
  recordDecision(ctx, {
    stage: VALIDATE_STAGE,
    outcome: 'deny',
    code: 'AIRLOCK_ARGUMENTS_INVALID',
    reason: message,
    detail: { tool, paths: shown.map((p) => p.path) },
  });
  return new WireError(JSONRPC_INVALID_PARAMS, 'AIRLOCK_ARGUMENTS_INVALID', message, {
    tool,
    problems: shown,
  });
}

function unusable(ctx: GatewayContext, tool: string, which: string, reason: string): WireError {
  const message = `The ${which} schema of tool '${tool}' cannot be used for validation; the call was refused`;
  recordDecision(ctx, {
    stage: VALIDATE_STAGE,
    outcome: 'deny',
    code: 'AIRLOCK_SCHEMA_UNUSABLE',
    reason: `${message}: ${reason}`,
  });
  return new WireError(JSONRPC_INTERNAL_ERROR, 'AIRLOCK_SCHEMA_UNUSABLE', message, { tool });
}

function outputError(ctx: GatewayContext, tool: string, why: string): Record<string, unknown> {
  const text = `The result of tool '${tool}' does not match its declared output schema: ${why}`;
  recordDecision(ctx, {
    stage: VALIDATE_STAGE,
    outcome: 'deny',
    code: 'AIRLOCK_OUTPUT_INVALID',
    reason: text,
  });
  return { content: [{ type: 'text', text }], isError: true };
}
