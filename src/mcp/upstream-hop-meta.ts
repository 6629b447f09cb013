/**
 * `_meta` keys that belong to one hop (the protocol envelope, the agent's progress token) are not
 * forwarded to the upstream: the SDK sets its own on the next hop.
 *
 * @example
 * withoutHopMeta({ name: 'x', _meta: { progressToken: 1, 'acme/x': 2 } }, true) // { name: 'x', _meta: { 'acme/x': 2 } }
 */
const RESERVED_META_PREFIX = 'io.modelcontextprotocol/';

export function withoutHopMeta(
  value: Record<string, unknown>,
  dropProgressToken: boolean,
): Record<string, unknown> {
  const meta = value._meta;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return value;
  const kept: Record<string, unknown> = {};
  let dropped = false;
  for (const [key, v] of Object.entries(meta as Record<string, unknown>)) {
    if (key.startsWith(RESERVED_META_PREFIX) || (dropProgressToken && key === 'progressToken')) {
      dropped = true;
      continue;
    }
    kept[key] = v;
  }
  if (!dropped) return value;
  const { _meta: _ignored, ...rest } = value;
  return Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : rest;
}
