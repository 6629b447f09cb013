// The house rules, read from the tree itself (issue 20): no TypeScript file in src/, test/, bench/,
// scripts/ or samples/ over 400 lines except declared data tables, no function there over 80 lines
// (anonymous arrows such as describe and test callbacks included), no import cycle between top-level
// src/ folders (value and type imports), and relay and connector as peers that never import each other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { buildFolderGraph, findFolderCycles, topFolder } from './folder-graph.js';
import {
  countLines,
  findRepoRoot,
  listTypeScriptFiles,
  type ParsedSource,
  parseSource,
  resolveSpecifier,
} from './source-tree.js';

/** Where the size rules apply: every TypeScript tree of the project. */
const SIZE_RULE_TREES = ['src', 'test', 'bench', 'scripts', 'samples'] as const;
/** The longest a file may be, in lines. */
const MAX_FILE_LINES = 400;
/** The longest a function, method or arrow function may be, in lines (signature to closing brace). */
const MAX_FUNCTION_LINES = 80;

/** Files allowed over MAX_FILE_LINES: data tables only, each with its reason. */
const LONG_FILE_ALLOW_LIST: ReadonlyMap<string, string> = new Map([
  [
    'src/pii/detectors/name-lexicon.ts',
    'data table: the given-name and surname lexicon of the name detector',
  ],
]);

/** Folders that must never import each other (either direction). */
const PEER_FOLDERS = ['relay', 'connector'] as const;

interface SourceFile {
  path: string;
  text: string;
  parsed: ParsedSource;
}

/** Reads and parses every TypeScript file under the given top-level folders of the checkout. */
function readTree(root: string, dirs: readonly string[]): SourceFile[] {
  return dirs.flatMap((dir) =>
    listTypeScriptFiles(root, dir).map((path) => {
      const text = readFileSync(join(root, path), 'utf8');
      return { path, text, parsed: parseSource(path, text) };
    }),
  );
}

function importsOf(files: SourceFile[]) {
  return files.flatMap((f) =>
    f.parsed.imports.flatMap((imp) => {
      const target = resolveSpecifier(f.path, imp.specifier);
      return target === null ? [] : [{ file: f.path, target, line: imp.line, typeOnly: imp.typeOnly }];
    }),
  );
}

describe('house-rules checker (its own parts): parsing', () => {
  it('measures functions, methods and arrows by line extent, with useful names', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = [
      'export function top() {',
      body(3),
      '}',
      'class Box {',
      '  open(): void {',
      body(2),
      '  }',
      '}',
      'const table = { handler: async () => {',
      body(1),
      '} };',
      'register(() => {',
      '  return [1].map((x) => x);',
      '});',
      'declare function overload(a: string): void;',
      '',
    ].join('\n');
    const { functions } = parseSource('src/x/sample.ts', text);
    const byName = new Map(functions.map((f) => [f.name, f]));
    assert.equal(byName.get('top')?.lines, 5);
    assert.equal(byName.get('Box.open')?.lines, 4);
    assert.equal(byName.get('handler')?.lines, 3);
    assert.equal(byName.get('<anonymous arrow>')?.startLine, 15);
    assert.equal(byName.get('<arrow in <anonymous arrow>>')?.lines, 1);
    assert.equal(byName.has('overload'), false, 'a bodiless overload is not a function body');
  });

  it('counts offsets after non-ASCII text correctly', () => {
    const text = "const s = 'é→ü';\n// ünïcödé\nfunction f() {\n  return 1;\n}\n";
    const f = parseSource('src/x/u.ts', text).functions.find((fn) => fn.name === 'f');
    assert.deepEqual([f?.startLine, f?.endLine], [3, 5]);
  });

  it('sees value, type-only, re-export, dynamic and type-level imports', () => {
    const text = [
      "import { a } from '../a/a.js';",
      "import type { B } from '../b/b.js';",
      "import { type C, d } from '../c/c.js';",
      "export { e } from '../e/e.js';",
      "export type { F } from '../f/f.js';",
      "import 'node:fs';",
      "type G = import('../g/g.js').G;",
      "const h = () => import('../h/h.js');",
      '',
    ].join('\n');
    const got = parseSource('src/x/i.ts', text).imports.map((i) => `${i.specifier}:${i.typeOnly}`);
    assert.deepEqual(got.sort(), [
      '../a/a.js:false',
      '../b/b.js:true',
      '../c/c.js:false',
      '../e/e.js:false',
      '../f/f.js:true',
      '../g/g.js:true',
      '../h/h.js:false',
    ]);
    assert.equal(
      resolveSpecifier('src/relay/cluster/n.ts', '../../net/listen-address.js'),
      'src/net/listen-address.ts',
    );
    assert.equal(resolveSpecifier('src/relay/n.ts', 'node:net'), null);
    assert.equal(topFolder('src/relay/cluster/n.ts'), 'relay');
  });
});

describe('house-rules checker (its own parts): folder graph', () => {
  it('reports a cycle made only of a type import, with one example edge per arrow', () => {
    const graph = buildFolderGraph([
      { file: 'src/a/one.ts', target: 'src/b/two.ts', line: 3, typeOnly: false },
      { file: 'src/b/two.ts', target: 'src/c/three.ts', line: 4, typeOnly: false },
      { file: 'src/c/three.ts', target: 'src/a/one.ts', line: 5, typeOnly: true },
      { file: 'src/c/three.ts', target: 'src/d/four.ts', line: 6, typeOnly: false },
      { file: 'src/a/inner.ts', target: 'src/a/one.ts', line: 1, typeOnly: false },
    ]);
    const cycles = findFolderCycles(graph);
    assert.equal(cycles.length, 1);
    assert.equal(
      cycles[0],
      [
        'cycle a → b → c → a',
        '  a → b: src/a/one.ts:3 imports src/b/two.ts',
        '  b → c: src/b/two.ts:4 imports src/c/three.ts',
        '  c → a: src/c/three.ts:5 type imports src/a/one.ts',
      ].join('\n'),
    );
  });

  it('finds no cycle in a graph that only points down', () => {
    const graph = buildFolderGraph([
      { file: 'src/cli/m.ts', target: 'src/relay/r.ts', line: 1, typeOnly: false },
      { file: 'src/relay/r.ts', target: 'src/tunnel/t.ts', line: 1, typeOnly: false },
      { file: 'src/cli/m.ts', target: 'src/tunnel/t.ts', line: 2, typeOnly: true },
    ]);
    assert.deepEqual(findFolderCycles(graph), []);
  });
});

describe('house rules of the tree: sizes of files and functions', () => {
  let files: SourceFile[] = [];

  before(() => {
    files = readTree(findRepoRoot(import.meta.url), SIZE_RULE_TREES);
    for (const dir of SIZE_RULE_TREES) {
      const read = files.filter((f) => f.path.startsWith(`${dir}/`)).length;
      assert.ok(read > 0, `expected files under ${dir}/, read none`);
    }
    assert.ok(files.length > 400, `expected the whole tree, read ${files.length} files`);
  });

  it(`has no file over ${MAX_FILE_LINES} lines except declared data tables`, () => {
    const tooLong = files
      .map((f) => ({ path: f.path, lines: countLines(f.text) }))
      .filter((f) => f.lines > MAX_FILE_LINES && !LONG_FILE_ALLOW_LIST.has(f.path))
      .map((f) => `${f.path}: ${f.lines} lines`);
    assert.deepEqual(tooLong, [], `split these by concern:\n${tooLong.join('\n')}`);
  });

  it('keeps its allow-list of long files true (each entry exists and is still long)', () => {
    for (const [path, reason] of LONG_FILE_ALLOW_LIST) {
      const file = files.find((f) => f.path === path);
      assert.ok(file, `allow-listed ${path} (${reason}) no longer exists: remove it from the list`);
      assert.ok(
        countLines(file.text) > MAX_FILE_LINES,
        `allow-listed ${path} is short now: remove it from the list`,
      );
    }
  });

  it(`has no function, method or arrow function over ${MAX_FUNCTION_LINES} lines`, () => {
    const tooLong = files.flatMap((f) =>
      f.parsed.functions
        .filter((fn) => fn.lines > MAX_FUNCTION_LINES)
        .map((fn) => `${f.path}:${fn.startLine} ${fn.name}: ${fn.lines} lines`),
    );
    assert.deepEqual(tooLong, [], `split these by concern:\n${tooLong.join('\n')}`);
  });
});

describe('house rules of the tree: imports between src/ folders', () => {
  let files: SourceFile[] = [];

  before(() => {
    files = readTree(findRepoRoot(import.meta.url), ['src']);
    assert.ok(files.length > 100, `expected the whole src/ tree, read ${files.length} files`);
  });

  it('resolves every relative import in src/ to a file that exists', () => {
    const known = new Set(files.map((f) => f.path));
    const dangling = importsOf(files)
      .filter((imp) => imp.target.startsWith('src/') && !known.has(imp.target))
      .map((imp) => `${imp.file}:${imp.line} → ${imp.target}`);
    assert.deepEqual(dangling, []);
  });

  it('has no import cycle between top-level src/ folders (value and type imports)', () => {
    const cycles = findFolderCycles(buildFolderGraph(importsOf(files)));
    assert.deepEqual(cycles, [], `\n${cycles.join('\n')}`);
  });

  it('keeps relay and connector as peers: neither imports the other', () => {
    const [a, b] = PEER_FOLDERS;
    const crossing = importsOf(files)
      .filter((imp) => {
        const from = topFolder(imp.file);
        const to = topFolder(imp.target);
        return (from === a && to === b) || (from === b && to === a);
      })
      .map((imp) => `${imp.file}:${imp.line} imports ${imp.target}`);
    assert.deepEqual(crossing, [], `share through src/tunnel/ or src/net/ instead:\n${crossing.join('\n')}`);
  });
});
