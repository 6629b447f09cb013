/**
 * Checks an `arguments` condition against the tool's pinned input schema: a condition about a property
 * the tool does not declare can never see that property (the validate stage strips undeclared
 * arguments), so it is a policy error, reported with the rule and the property. Nested objects are
 * followed where both schemas describe them; a pinned level that admits extra properties
 * (`additionalProperties` / `unevaluatedProperties` not false) or cannot be judged (`$ref`) is accepted.
 *
 * @example
 * conditionPropertyProblems(
 *   { properties: { amout: { minimum: 10 } } },
 *   { type: 'object', properties: { amount: { type: 'number' } } },
 * ); // ['arguments.amout is not a property of the tool\'s pinned input schema (did you mean "amount"?)']
 */
import { suggest } from '../config/did-you-mean.js';

type Json = Record<string, unknown>;

const MAX_DEPTH = 16;

/**
 * Every condition problem of `engine` against the pinned tools, for the policy watcher's `check`.
 *
 * @example
 * watchPolicy({ file, check: (l) => pinnedConditionProblems(l.engine, approvedTools()) });
 */
export function pinnedConditionProblems(
  engine: { conditionProblemsFor(tool: string, inputSchema: unknown): string[] },
  tools: Iterable<{ name: string; inputSchema?: unknown }>,
): string[] {
  const problems: string[] = [];
  for (const t of tools) {
    for (const p of engine.conditionProblemsFor(t.name, t.inputSchema)) problems.push(`${t.name}: ${p}`);
  }
  return problems;
}

/** Problems of `fragment` (a condition's `arguments` schema) against `inputSchema` (pinned). */
export function conditionPropertyProblems(fragment: unknown, inputSchema: unknown): string[] {
  const problems: string[] = [];
  check(fragment, inputSchema, 'arguments', problems, 0);
  return problems;
}

function check(fragment: unknown, pinned: unknown, path: string, problems: string[], depth: number): void {
  if (depth > MAX_DEPTH || !isObject(fragment) || !isObject(pinned)) return;
  const declared = declaredNames(pinned, depth === 0);
  if (declared === undefined) return;
  const named = new Set<string>([
    ...(isObject(fragment.properties) ? Object.keys(fragment.properties) : []),
    ...(Array.isArray(fragment.required)
      ? fragment.required.filter((r): r is string => typeof r === 'string')
      : []),
  ]);
  for (const name of named) {
    const child = declared.get(name);
    if (child === undefined) {
      const hint = suggest(name, declared.keys());
      problems.push(
        `${path}.${name} is not a property of the tool's pinned input schema${hint ? ` (did you mean "${hint}"?)` : ''}`,
      );
      continue;
    }
    const sub = isObject(fragment.properties) ? fragment.properties[name] : undefined;
    check(sub, child, `${path}.${name}`, problems, depth + 1);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = fragment[key];
    if (Array.isArray(branches)) for (const b of branches) check(b, pinned, path, problems, depth);
  }
}

/** Declared property names → schema; undefined when the level admits any property or cannot be judged. */
function declaredNames(schema: Json, isRoot: boolean): Map<string, unknown> | undefined {
  if (typeof schema.$ref === 'string' || typeof schema.$dynamicRef === 'string') return undefined;
  if (admitsExtra(schema.additionalProperties) || admitsExtra(schema.unevaluatedProperties)) return undefined;
  if (isObject(schema.patternProperties) && Object.keys(schema.patternProperties).length > 0)
    return undefined;
  const names = new Map<string, unknown>();
  if (isObject(schema.properties)) for (const [k, v] of Object.entries(schema.properties)) names.set(k, v);
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    for (const b of branches) {
      if (!isObject(b)) continue;
      const inner = declaredNames(b, isRoot);
      if (inner === undefined) return undefined;
      for (const [k, v] of inner) if (!names.has(k)) names.set(k, v);
    }
  }
  // The root `{ type: 'object' }` declares no arguments; a nested object without properties is a free map.
  if (names.size === 0 && !(isRoot && schema.type === 'object') && schema.properties === undefined)
    return undefined;
  return names;
}

function admitsExtra(keyword: unknown): boolean {
  return keyword === true || isObject(keyword);
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
