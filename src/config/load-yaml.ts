/**
 * YAML configuration loading with zod schemas. YAML syntax errors and schema violations both become
 * one `ConfigError` that names the file, the line, the field path (`upstreams.erp.command`) and what
 * was expected; unknown keys (schemas are strict) get a "did you mean" suggestion from the keys the
 * schema knows. Every problem is reported, one per line, sorted by line; `err.line` is the first.
 *
 * @example
 * const Config = z.strictObject({ listen: z.strictObject({ port: z.number().int() }) });
 * try {
 *   const config = await loadYamlFile('connector.yaml', Config);
 * } catch (e) {
 *   // connector.yaml:3: listen.prot: unknown key "prot" (did you mean "port"?)
 *   // connector.yaml:3: listen.port: required, expected number
 * }
 */
import { readFile } from 'node:fs/promises';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors/airlock-error.js';
import { suggest } from './did-you-mean.js';

/** Aliases expanded beyond this count are refused (protects against "billion laughs" documents). */
export const DEFAULT_MAX_ALIAS_COUNT = 100;
/** Configuration files larger than this are refused before parsing. */
export const DEFAULT_MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** One problem found in a configuration file. */
export interface ConfigIssue {
  /** 1-based line, when known. */
  line: number | undefined;
  /** Dotted path of the field, e.g. `upstreams.erp.args[0]`; empty for the whole document or a syntax error. */
  path: string;
  message: string;
}

/** A `ConfigError` (code `AIRLOCK_CONFIG_INVALID`) that also carries every issue found. */
export class ConfigValidationError extends ConfigError {
  readonly issues: readonly ConfigIssue[];
  constructor(file: string, issues: readonly ConfigIssue[]) {
    const [first, ...rest] = issues;
    const lines = [
      first ? formatIssue(first) : 'invalid configuration',
      ...rest.map((i) => `${file}${i.line ? `:${i.line}` : ''}: ${formatIssue(i)}`),
    ];
    super(lines.join('\n'), { file, line: first?.line });
    this.issues = issues;
  }
}

/**
 * Reads and validates a YAML file. Throws `ConfigValidationError` (a `ConfigError`) on unreadable
 * files, YAML syntax errors and schema violations.
 *
 * @example
 * const policy = await loadYamlFile('policy.yaml', PolicySchema);
 */
export async function loadYamlFile<T>(
  file: string,
  schema: z.ZodType<T>,
  opts: { maxBytes?: number } = {},
): Promise<T> {
  return parseYamlConfig(await readConfigText(file, opts), schema, file);
}

/**
 * Reads a config file's text with a size bound. Throws `ConfigError` when it cannot be read, and
 * `ConfigValidationError` when it is larger than `maxBytes` (default {@link DEFAULT_MAX_CONFIG_BYTES}).
 */
export async function readConfigText(file: string, opts: { maxBytes?: number } = {}): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot read file';
    throw new ConfigError(`${reason} (${(cause as Error).message})`, { file }, cause);
  }
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES;
  if (Buffer.byteLength(text) > maxBytes) {
    throw new ConfigValidationError(file, [
      { line: undefined, path: '', message: `file is larger than ${maxBytes} bytes` },
    ]);
  }
  return text;
}

/**
 * Parses and validates YAML text; `file` only names the source in errors.
 *
 * @example
 * parseYamlConfig('listen:\n  port: 8443\n', Config, 'inline.yaml') // { listen: { port: 8443 } }
 */
export function parseYamlConfig<T>(text: string, schema: z.ZodType<T>, file: string): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    keepSourceTokens: true,
    prettyErrors: true,
    uniqueKeys: true,
  });
  if (doc.errors.length > 0) {
    throw new ConfigValidationError(
      file,
      sortByLine(
        doc.errors.map((e) => ({ line: e.linePos?.[0]?.line, path: '', message: syntaxMessage(e) })),
      ),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: DEFAULT_MAX_ALIAS_COUNT });
  } catch (cause) {
    throw new ConfigValidationError(file, [{ line: undefined, path: '', message: (cause as Error).message }]);
  }
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) issues.push(...describeIssue(issue, doc, lineCounter, schema));
  throw new ConfigValidationError(file, sortByLine(issues));
}

// ---------------------------------------------------------------------------------------------

type Segment = PropertyKey;

function describeIssue(
  issue: z.core.$ZodIssue,
  doc: Document,
  lines: LineCounter,
  schema: z.ZodType,
): ConfigIssue[] {
  const path = issue.path;
  const found = locate(doc, path);
  const lineOf = (node: Node | undefined | null) =>
    node?.range
      ? lines.linePos(node.range[0]).line
      : found.nearest?.range
        ? lines.linePos(found.nearest.range[0]).line
        : undefined;

  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, path);
    return issue.keys.map((key) => {
      const hint = known ? suggest(key, known) : undefined;
      const keyPath = [...path, key];
      return {
        line: lineOf(keyNode(found.node, key)),
        path: formatPath(keyPath),
        message: `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : known ? ` (expected one of: ${[...known].join(', ')})` : ''}`,
      };
    });
  }
  if (issue.code === 'invalid_type' && found.node === undefined && path.length > 0) {
    return [
      {
        line: lineOf(found.nearest),
        path: formatPath(path),
        message: `required, expected ${issue.expected}`,
      },
    ];
  }
  if (issue.code === 'invalid_value' && isScalar(found.node) && typeof found.node.value === 'string') {
    const options = issue.values.filter((v): v is string => typeof v === 'string');
    const hint = suggest(found.node.value, options);
    return [
      {
        line: lineOf(found.node),
        path: formatPath(path),
        message: `${issue.message}${hint ? ` (did you mean "${hint}"?)` : ''}`,
      },
    ];
  }
  return [{ line: lineOf(found.node), path: formatPath(path), message: issue.message }];
}

/**
 * The YAML node at `path`; when it does not exist, `nearest` is where its closest existing ancestor
 * is written (the ancestor's key, e.g. the `erp:` line for a missing `upstreams.erp.command`).
 */
function locate(
  doc: Document,
  path: readonly Segment[],
): { node: Node | undefined; nearest: Node | undefined } {
  let node: unknown = doc.contents;
  let nearest: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (const segment of path) {
    let next: unknown;
    let anchor: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(segment));
      next = pair?.value ?? pair?.key;
      anchor = pair?.key;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
      anchor = next;
    }
    if (next === undefined || next === null) return { node: undefined, nearest };
    node = next;
    nearest = (anchor as Node | undefined) ?? (next as Node);
  }
  return { node: node as Node | undefined, nearest };
}

function keyNode(map: Node | undefined, key: string): Node | undefined {
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => keyText(p.key) === key);
  return (pair?.key as Node | undefined) ?? undefined;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : undefined;
}

interface ZodDefLike {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  valueType?: unknown;
  element?: unknown;
  in?: unknown;
  options?: unknown[];
  getter?: () => unknown;
}

function defOf(schema: unknown): ZodDefLike | undefined {
  return (schema as { _zod?: { def?: ZodDefLike } } | undefined)?._zod?.def;
}

/** Strips wrappers (optional, default, nullable, pipe, lazy...) down to the schema that shapes data. */
function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let i = 0; i < 32; i++) {
    const def = defOf(current);
    if (!def) return current;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else return current;
  }
  return current;
}

/** Keys an object schema at `path` accepts, following objects, records, arrays and simple wrappers. */
function knownKeys(schema: unknown, path: readonly Segment[]): Set<string> | undefined {
  let current = unwrap(schema);
  for (const segment of path) {
    const def = defOf(current);
    if (!def) return undefined;
    if (def.type === 'object' && def.shape) current = def.shape[String(segment)];
    else if (def.type === 'record') current = def.valueType;
    else if (def.type === 'array') current = def.element;
    else return undefined;
    current = unwrap(current);
  }
  const def = defOf(current);
  if (def?.type === 'object' && def.shape) return new Set(Object.keys(def.shape));
  if (def?.type === 'union' && def.options) {
    const keys = new Set<string>();
    for (const option of def.options) {
      const optionDef = defOf(unwrap(option));
      if (optionDef?.type === 'object' && optionDef.shape)
        for (const k of Object.keys(optionDef.shape)) keys.add(k);
    }
    return keys.size > 0 ? keys : undefined;
  }
  return undefined;
}

function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const text = String(segment);
      out += /^[A-Za-z_$][\w$-]*$/.test(text) ? `${out ? '.' : ''}${text}` : `[${JSON.stringify(text)}]`;
    }
  }
  return out;
}

function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

function syntaxMessage(error: {
  message: string;
  code: string;
  linePos?: [{ line: number; col: number }] | [{ line: number; col: number }, { line: number; col: number }];
}): string {
  const firstLine = error.message.split('\n')[0] ?? error.message;
  const text = firstLine.replace(/ at line \d+, column \d+:?$/, '');
  const col = error.linePos?.[0]?.col;
  return `YAML syntax error: ${text}${col ? ` (column ${col})` : ''}`;
}

function sortByLine(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort(
      (a, b) =>
        (a.issue.line ?? Number.MAX_SAFE_INTEGER) - (b.issue.line ?? Number.MAX_SAFE_INTEGER) ||
        a.index - b.index,
    )
    .map((x) => x.issue);
}
