// Reads the source tree for the house-rules test: which files there are, how long each is, where
// each function starts and ends, and what each file imports. Parsing is done by `oxc-parser` (the
// project's `typescript` package is the native port, which has no JavaScript API).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSync } from 'oxc-parser';

/** One function, method or arrow function with its extent in lines (first and last line included). */
export interface FunctionExtent {
  /** Readable name: `startConnector`, `AgentMcpEndpoint.close`, `register (arrow)`, `<anonymous>`. */
  name: string;
  startLine: number;
  endLine: number;
  lines: number;
}

/** One import (value or type, static, re-export or dynamic) of a relative module specifier. */
export interface ImportRef {
  specifier: string;
  typeOnly: boolean;
  line: number;
}

/** What the rules need from one parsed file. */
export interface ParsedSource {
  functions: FunctionExtent[];
  imports: ImportRef[];
}

/** The repository root: the nearest folder above `fromUrl` whose package.json is Airlock's. */
export function findRepoRoot(fromUrl: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'airlock') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no Airlock package.json above ${fromUrl}`);
    dir = parent;
  }
}

/** Every `.ts` file below `root/dir`, as POSIX paths relative to `root` (`src/relay/relay-server.ts`), sorted. */
export function listTypeScriptFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs)) {
      const full = join(abs, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts'))
        out.push(relative(root, full).split(sep).join('/'));
    }
  };
  walk(join(root, dir));
  return out.sort();
}

/** Lines in a text the way `wc -l` counts a file that ends with a newline. */
export function countLines(text: string): number {
  if (text.length === 0) return 0;
  const parts = text.split('\n').length;
  return text.endsWith('\n') ? parts - 1 : parts;
}

/** Resolves a relative import specifier of `fromFile` to a repository path (`.js` read as `.ts`); null for packages. */
export function resolveSpecifier(fromFile: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const joined = posix.normalize(posix.join(posix.dirname(fromFile), specifier));
  return joined.replace(/\.js$/, '.ts');
}

type AstNode = { type: string; start: number; end: number; [key: string]: unknown };

function isNode(value: unknown): value is AstNode {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

function keyName(key: unknown): string | null {
  if (!isNode(key)) return null;
  if (key.type === 'Identifier' || key.type === 'PrivateIdentifier') return String(key.name);
  if (key.type === 'Literal') return String(key.value);
  return null;
}

function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** The name a node gives to a function directly below it, if any. */
function nameFromParent(parent: AstNode | undefined, className: string | undefined): string | undefined {
  if (parent === undefined) return undefined;
  if (parent.type === 'VariableDeclarator') return keyName(parent.id) ?? undefined;
  if (parent.type === 'Property' || parent.type === 'PropertyDefinition')
    return keyName(parent.key) ?? undefined;
  if (
    parent.type === 'AssignmentExpression' &&
    isNode(parent.left) &&
    parent.left.type === 'MemberExpression'
  ) {
    return keyName(parent.left.property) ?? undefined;
  }
  if (parent.type === 'MethodDefinition') {
    const method = keyName(parent.key) ?? '<computed>';
    return className === undefined ? method : `${className}.${method}`;
  }
  return undefined;
}

/**
 * Parses one TypeScript file and lists its functions (declarations, expressions, arrows, methods,
 * accessors) with their line extents, and its relative imports (`import`, `import type`,
 * `export … from`, `import()`, and type-level `import('…')`).
 *
 * @example
 *   const { functions } = parseSource('src/a.ts', text);
 *   const long = functions.filter((f) => f.lines > 80);
 */
export function parseSource(path: string, text: string): ParsedSource {
  const result = parseSync(path, text, { lang: 'ts', sourceType: 'module' });
  if (result.errors.length > 0) {
    throw new Error(`${path}: cannot parse: ${result.errors.map((e) => e.message).join('; ')}`);
  }
  const lineOf = lineIndex(text);
  const functions: FunctionExtent[] = [];
  const imports: ImportRef[] = [];
  const addImport = (specifier: string, typeOnly: boolean, offset: number): void => {
    if (specifier.startsWith('.')) imports.push({ specifier, typeOnly, line: lineOf(offset) });
  };
  for (const imp of result.module.staticImports) {
    // `import './x.js'` has no entries and loads the module: a value import.
    const typeOnly = imp.entries.length > 0 && imp.entries.every((e) => e.isType);
    addImport(imp.moduleRequest.value, typeOnly, imp.start);
  }
  for (const exp of result.module.staticExports) {
    for (const entry of exp.entries) {
      if (entry.moduleRequest !== null) addImport(entry.moduleRequest.value, entry.isType, entry.start);
    }
  }

  const walk = (
    node: AstNode,
    parent: AstNode | undefined,
    className: string | undefined,
    outer: string,
  ): void => {
    let innerClass = className;
    let innerOuter = outer;
    if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') {
      innerClass = keyName(node.id) ?? nameFromParent(parent, className) ?? '<class>';
    }
    if (node.type === 'ImportExpression' && isNode(node.source) && node.source.type === 'Literal') {
      addImport(String(node.source.value), false, node.start);
    }
    if (node.type === 'TSImportType' && isNode(node.source)) {
      addImport(String(node.source.value), true, node.start);
    }
    if (FUNCTION_TYPES.has(node.type) && node.body !== null && node.body !== undefined) {
      const span = parent?.type === 'MethodDefinition' ? parent : node;
      const own = keyName(node.id) ?? nameFromParent(parent, className);
      const kind = node.type === 'ArrowFunctionExpression' ? 'arrow' : 'function';
      const name = own ?? (outer === '' ? `<anonymous ${kind}>` : `<${kind} in ${outer}>`);
      innerOuter = name;
      const startLine = lineOf(span.start);
      const endLine = lineOf(Math.max(span.start, span.end - 1));
      functions.push({ name, startLine, endLine, lines: endLine - startLine + 1 });
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'parent') continue;
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) walk(item, node, innerClass, innerOuter);
      } else if (isNode(value)) {
        walk(value, node, innerClass, innerOuter);
      }
    }
  };
  walk(result.program as unknown as AstNode, undefined, undefined, '');
  return { functions, imports };
}
