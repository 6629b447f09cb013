/**
 * Which agent requests take the direct path (direct-calls.ts): a plain 2026-07-28 `tools/call` that the
 * SDK's own classifier calls modern and whose standard headers agree with the body. Everything else —
 * any other method, a retry round (`inputResponses`, `requestState`), a progress token, a log level in
 * the envelope, a task, an encoded `Mcp-Name`, a header the SDK would refuse — goes the SDK's way, so
 * every refusal an agent can get is the SDK's own answer.
 *
 * The envelope keys are lifted out of `params._meta` exactly as the SDK lifts them before a handler runs
 * (handlers and upstreams see the 2025-era shape; the envelope travels beside it).
 *
 * @example
 * const call = directCallOf(req, parsedBody);
 * if (call) await directCalls.serve(req, res, call); else await sdkHandler(req, res, parsedBody);
 */
import type { IncomingMessage } from 'node:http';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type ClientCapabilities,
  classifyInboundRequest,
  isJsonContentType,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  type RequestId,
} from '@modelcontextprotocol/server';
import { surelyModern } from './era-precheck.js';

/** A `tools/call` the direct path serves: the handler's params (envelope lifted out) and the envelope. */
export interface DirectCallRequest {
  id: RequestId;
  /** `name`, `arguments` and any non-envelope `_meta`, as an SDK handler would see them. */
  params: Record<string, unknown>;
  envelope: Record<string, unknown>;
  clientCapabilities: ClientCapabilities;
  protocolVersion: string;
}

/**
 * The revisions the direct path serves. The SDK's own list of modern revisions is not exported; a
 * revision a newer SDK adds goes the SDK's way until it is named here.
 */
const DIRECT_REVISIONS: readonly string[] = ['2026-07-28'];
const ENVELOPE_KEYS = [PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY];
const PARAM_KEYS: ReadonlySet<string> = new Set(['name', 'arguments', '_meta']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A header's single value with the optional whitespace HTTP allows around it trimmed. */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

/** The direct-path request in `body`, or `undefined` when the SDK must serve it (see the module comment). */
export function directCallOf(req: IncomingMessage, body: unknown): DirectCallRequest | undefined {
  if (req.method !== 'POST' || !surelyModern(body) || !isPlainObject(body)) return undefined;
  if (body.method !== 'tools/call' || body.jsonrpc !== '2.0') return undefined;
  const id = body.id;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) return undefined;
  if (!isJsonContentType(req.headers['content-type'] ?? null)) return undefined;
  const versionHeader = headerOf(req, 'mcp-protocol-version');
  const name = (body.params as Record<string, unknown>).name;
  if (typeof name !== 'string' || name.startsWith('=?')) return undefined;
  if (headerOf(req, 'mcp-method') !== 'tools/call' || headerOf(req, 'mcp-name') !== name) return undefined;
  const route = classifyInboundRequest({
    httpMethod: 'POST',
    body,
    protocolVersionHeader: versionHeader,
    mcpMethodHeader: 'tools/call',
    mcpNameHeader: name,
  });
  if (route.kind !== 'modern' || route.messageKind !== 'request') return undefined;
  const version = route.classification.revision;
  if (version === undefined || version !== versionHeader || !DIRECT_REVISIONS.includes(version))
    return undefined;
  return liftedCall(id, body.params as Record<string, unknown>, version);
}

/** The handler's view of plain call params, or `undefined` for anything the direct path leaves to the SDK. */
function liftedCall(
  id: RequestId,
  params: Record<string, unknown>,
  protocolVersion: string,
): DirectCallRequest | undefined {
  for (const key of Object.keys(params)) if (!PARAM_KEYS.has(key)) return undefined;
  if (params.arguments !== undefined && !isPlainObject(params.arguments)) return undefined;
  const meta = params._meta as Record<string, unknown>;
  if (LOG_LEVEL_META_KEY in meta || 'progressToken' in meta) return undefined;
  const capabilities = meta[CLIENT_CAPABILITIES_META_KEY];
  if (!isPlainObject(capabilities)) return undefined;
  const { params: lifted, envelope } = liftEnvelope(params, meta);
  return { id, params: lifted, envelope, clientCapabilities: capabilities, protocolVersion };
}

/**
 * `params` with the 2026-07-28 envelope keys taken out of `meta` (its `_meta`), as the SDK lifts them
 * before a handler runs; `_meta` stays only when other keys remain. Also used by task-extension-entry.ts.
 */
export function liftEnvelope(
  params: Record<string, unknown>,
  meta: Record<string, unknown>,
): { params: Record<string, unknown>; envelope: Record<string, unknown> } {
  const envelope: Record<string, unknown> = {};
  const rest: Record<string, unknown> = { ...meta };
  for (const key of ENVELOPE_KEYS) {
    if (key in meta) envelope[key] = meta[key];
    delete rest[key];
  }
  const lifted: Record<string, unknown> = { ...params };
  if (Object.keys(rest).length > 0) lifted._meta = rest;
  else delete lifted._meta;
  return { params: lifted, envelope };
}
