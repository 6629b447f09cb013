// The import graph between top-level `src/` folders, and its cycles, for the house-rules test.

/** One import of a file in one folder from a file in another, kept as the example for that arrow. */
export interface FolderEdge {
  from: string;
  to: string;
  /** The importing file, `src/relay/relay-server.ts`, and the line of the import. */
  file: string;
  line: number;
  /** The imported file, `src/connector/listen-address.ts`. */
  target: string;
  typeOnly: boolean;
}

/** Folder → folder → the first edge seen (a value import is preferred over a type-only one as the example). */
export type FolderGraph = Map<string, Map<string, FolderEdge>>;

/** The top-level `src/` folder of a repository path (`src/relay/cluster/x.ts` → `relay`); null outside `src/<folder>/`. */
export function topFolder(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] !== 'src' || parts.length < 3) return null;
  return parts[1] ?? null;
}

/** Builds the folder graph from file-level imports; imports inside one folder are not edges. */
export function buildFolderGraph(
  imports: Iterable<{ file: string; target: string; line: number; typeOnly: boolean }>,
): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const imp of imports) {
    const from = topFolder(imp.file);
    const to = topFolder(imp.target);
    if (from === null || to === null || from === to) continue;
    const row = graph.get(from) ?? new Map<string, FolderEdge>();
    graph.set(from, row);
    const known = row.get(to);
    if (known === undefined || (known.typeOnly && !imp.typeOnly)) row.set(to, { from, to, ...imp });
  }
  return graph;
}

/** Strongly connected components with more than one folder (Tarjan), each sorted, in sorted order. */
function cyclicComponents(graph: FolderGraph): string[][] {
  const nodes = new Set<string>(graph.keys());
  for (const row of graph.values()) for (const to of row.keys()) nodes.add(to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node)?.keys() ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of [...nodes].sort()) if (!index.has(node)) visit(node);
  return components.sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
}

/** A shortest path from `start` back to itself inside `members` (breadth first), as its edges. */
function shortestCycle(graph: FolderGraph, start: string, members: Set<string>): FolderEdge[] {
  const cameBy = new Map<string, FolderEdge>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const edge of graph.get(node)?.values() ?? []) {
      if (!members.has(edge.to) || cameBy.has(edge.to)) continue;
      cameBy.set(edge.to, edge);
      if (edge.to === start) {
        const path: FolderEdge[] = [];
        let at = start;
        do {
          const step = cameBy.get(at) as FolderEdge;
          path.unshift(step);
          at = step.from;
        } while (at !== start);
        return path;
      }
      queue.push(edge.to);
    }
  }
  return [];
}

function describeEdge(edge: FolderEdge): string {
  const kind = edge.typeOnly ? 'type import' : 'import';
  return `  ${edge.from} → ${edge.to}: ${edge.file}:${edge.line} ${kind}s ${edge.target}`;
}

/**
 * One readable report per cycle between folders: the cycle's folders, then one example edge per
 * arrow (`relay → connector: src/relay/x.ts:3 imports src/connector/y.ts`). Empty when acyclic.
 *
 * @example
 *   assert.deepEqual(findFolderCycles(buildFolderGraph(edges)), []);
 */
export function findFolderCycles(graph: FolderGraph): string[] {
  return cyclicComponents(graph).map((component) => {
    const start = component[0] as string;
    const cycle = shortestCycle(graph, start, new Set(component));
    const chain = [...cycle.map((e) => e.from), start].join(' → ');
    const extra = component.length > cycle.length ? ` (strongly connected: ${component.join(', ')})` : '';
    return [`cycle ${chain}${extra}`, ...cycle.map(describeEdge)].join('\n');
  });
}
