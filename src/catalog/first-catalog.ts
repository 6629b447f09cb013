/**
 * Which tools `tofu` mode may pin on first sight: only those that come with their upstream's FIRST
 * catalog. Once an upstream has pinned tools, a tool that appears later — a new one, or a renamed one —
 * waits for an admin's review, so renaming cannot launder a rug pull. An upstream is told apart by its
 * namespace prefix (`erp.`): from the catalog's route when it has one, else the name up to its first
 * `.`; without namespacing (prefix ''), any pinned tool counts.
 *
 * @example
 * inFirstCatalog(pins, 'erp.remove_customer'); // false when erp.delete_customer is pinned
 */

/** Finds the upstream-local name of a namespaced tool (`UpstreamCatalog.resolveTool`). */
export type ToolRouteLookup = (name: string) => { name: string } | undefined;

/** True when neither `name` nor any other tool of its namespace has a pin in `pins` yet. */
export function inFirstCatalog(
  pins: ReadonlyMap<string, unknown>,
  name: string,
  resolveTool?: ToolRouteLookup,
): boolean {
  if (pins.has(name)) return false;
  const prefix = namespaceOf(name, resolveTool);
  for (const pinned of pins.keys()) if (pinned.startsWith(prefix)) return false;
  return true;
}

/** `erp.` for `erp.search` (from the route when there is one), '' without namespacing. */
export function namespaceOf(name: string, resolveTool?: ToolRouteLookup): string {
  const route = resolveTool?.(name);
  if (route) return name.endsWith(route.name) ? name.slice(0, name.length - route.name.length) : '';
  const dot = name.indexOf('.');
  return dot > 0 ? name.slice(0, dot + 1) : '';
}
