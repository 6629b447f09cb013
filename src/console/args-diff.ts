/**
 * Compares a call's arguments with earlier calls of the same tool, so a supervisor sees at a glance
 * what is unusual: arguments are flattened to leaf paths (`customer.address.city`, `items[2].sku`),
 * the most similar earlier call is the one sharing the most path=value pairs (Jaccard index), and the
 * diff lists every path as same, changed, added or removed.
 *
 * @example
 * const before = flattenArguments({ amount: 50, to: 'DE89…' });
 * const after = flattenArguments({ amount: 5000, to: 'DE89…' });
 * diffArguments(before, after) // [{ path: 'amount', change: 'changed', before: '50', after: '5000' }, { path: 'to', change: 'same', … }]
 */

/** Path → JSON text of the leaf value. */
export type FlatArguments = Map<string, string>;

export interface ArgumentDiffRow {
  path: string;
  change: 'same' | 'changed' | 'added' | 'removed';
  /** JSON text in the earlier call. */
  before: string | undefined;
  /** JSON text in this call. */
  after: string | undefined;
}

/** Most leaves flattened per call (deeper or wider structures are summarised). */
export const MAX_FLAT_LEAVES = 500;

/** Flattens a JSON value into leaf paths. Empty objects/arrays are leaves too. */
export function flattenArguments(value: unknown): FlatArguments {
  const out: FlatArguments = new Map();
  const walk = (v: unknown, path: string) => {
    if (out.size >= MAX_FLAT_LEAVES) return;
    if (Array.isArray(v) && v.length > 0) {
      for (const [i, item] of v.entries()) walk(item, `${path}[${i}]`);
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        const segment = /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
        walk(child, path ? `${path}.${segment}` : segment);
      }
    } else {
      out.set(path || '(value)', JSON.stringify(v) ?? 'null');
    }
  };
  walk(value, '');
  return out;
}

/** Jaccard index of the path=value pairs (0 = nothing shared, 1 = identical), paths weighing half. */
export function argumentSimilarity(a: FlatArguments, b: FlatArguments): number {
  if (a.size === 0 && b.size === 0) return 1;
  let samePairs = 0;
  let samePaths = 0;
  for (const [path, value] of a) {
    if (b.has(path)) {
      samePaths++;
      if (b.get(path) === value) samePairs++;
    }
  }
  const union = a.size + b.size - samePaths;
  return union === 0 ? 0 : (samePairs + samePaths * 0.5) / (union * 1.5);
}

/**
 * The candidate whose arguments are most similar to `target` (ties: the first, i.e. the newest when
 * candidates are newest first), or undefined when there are none.
 */
export function mostSimilar<T>(
  target: FlatArguments,
  candidates: readonly T[],
  argumentsOf: (candidate: T) => FlatArguments,
): { candidate: T; similarity: number } | undefined {
  let best: { candidate: T; similarity: number } | undefined;
  for (const candidate of candidates) {
    const similarity = argumentSimilarity(target, argumentsOf(candidate));
    if (!best || similarity > best.similarity) best = { candidate, similarity };
  }
  return best;
}

/** Every path of either call, in this call's order, then paths only the earlier call had. */
export function diffArguments(before: FlatArguments, after: FlatArguments): ArgumentDiffRow[] {
  const rows: ArgumentDiffRow[] = [];
  for (const [path, value] of after) {
    const old = before.get(path);
    rows.push({
      path,
      change: old === undefined ? 'added' : old === value ? 'same' : 'changed',
      before: old,
      after: value,
    });
  }
  for (const [path, value] of before) {
    if (!after.has(path)) rows.push({ path, change: 'removed', before: value, after: undefined });
  }
  return rows;
}
