/**
 * Pagination of the aggregated lists agents see (`tools/list`, `prompts/list`, `resources/list`,
 * `resources/templates/list`): a page of at most `pageSize` entries and an opaque `nextCursor` for the
 * rest, so a large catalog is never answered in one piece. A cursor names its list and an offset;
 * anything else (another list's cursor, a made-up or out-of-range one) is -32602 `AIRLOCK_CURSOR_INVALID`.
 * A list that changes between pages may shift entries by the change (agents get `list_changed`).
 *
 * @example
 * listPage('tools', catalog.tools(), ctx.params.cursor, 500); // { tools: [...500], nextCursor: 'dG9vbHM6NTAw' }
 */
import { JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';

/** Default most entries per page of an aggregated list. */
export const DEFAULT_LIST_PAGE_SIZE = 500;

/** The result key of each paginated list. */
export type PagedList = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

function invalidCursor(): WireError {
  return new WireError(
    JSONRPC_INVALID_PARAMS,
    'AIRLOCK_CURSOR_INVALID',
    'Invalid cursor: list again from the start',
  );
}

function offsetOf(list: PagedList, cursor: unknown, length: number): number {
  if (cursor === undefined) return 0;
  if (typeof cursor !== 'string' || cursor.length > 64) throw invalidCursor();
  const match = /^([A-Za-z]+):(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const offset = Number(match?.[2]);
  if (match?.[1] !== list || !Number.isSafeInteger(offset) || offset > length) throw invalidCursor();
  return offset;
}

/** One page of `items` from the offset `cursor` names (the first page without one). */
export function listPage<T>(
  list: PagedList,
  items: readonly T[],
  cursor: unknown,
  pageSize: number = DEFAULT_LIST_PAGE_SIZE,
): Record<string, unknown> {
  const size = Math.max(1, Math.floor(pageSize));
  const offset = offsetOf(list, cursor, items.length);
  if (offset === 0 && items.length <= size) return { [list]: items };
  const end = offset + size;
  const page: Record<string, unknown> = { [list]: items.slice(offset, end) };
  if (end < items.length) page.nextCursor = Buffer.from(`${list}:${end}`).toString('base64url');
  return page;
}
