/**
 * A cheap, exact answer to "is this POST surely not a 2025-11-25 (legacy) request?", asked before the
 * SDK's `isLegacyRequest`, which classifies the whole request (zod validation of the JSON-RPC shape and
 * of the `_meta` envelope) only for the modern handler to classify it again.
 *
 * The SDK's classifier (`classifyInboundRequest`) routes a POSTed plain JSON object to the legacy leg
 * only when it is a JSON-RPC response (it has `result` or `error`), an `initialize` request without a
 * valid modern envelope, or a request or notification whose params carry no envelope claim (the
 * reserved protocol-version `_meta` key) and whose `MCP-Protocol-Version` header does not name a modern
 * revision. A body that is none of these — a plain object with a string `method` other than
 * `initialize`, no `result` or `error`, and the envelope claim in `params._meta` — is classified as
 * modern or refused by the modern leg, never routed to legacy. Anything else returns `false` here and
 * is classified by the SDK as before.
 *
 * @example
 * const legacy = surelyModern(body) ? false : await isLegacyRequest(request, body);
 */
import { PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether a parsed POST body can only be classified modern (or refused by the modern leg); see the module comment. */
export function surelyModern(body: unknown): boolean {
  if (!isPlainObject(body)) return false;
  if ('result' in body || 'error' in body) return false;
  if (typeof body.method !== 'string' || body.method === 'initialize') return false;
  const params = body.params;
  if (!isPlainObject(params)) return false;
  const meta = params._meta;
  return isPlainObject(meta) && PROTOCOL_VERSION_META_KEY in meta;
}
