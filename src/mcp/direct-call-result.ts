/**
 * The wire form of a direct-path `tools/call` result (direct-calls.ts), made by the steps the SDK's
 * 2026-07-28 server applies to a handler's return:
 *
 * - an `input_required` result must carry `inputRequests` or `requestState`, and every embedded request
 *   must be one the agent declared it can answer (else -32021, as the SDK refuses it);
 * - any other result gets `content: []` when it has none, must be a valid `CallToolResult` (else
 *   -32602), gets `resultType: "complete"` when it names none;
 * - every result carries the server's identity in `_meta` (`io.modelcontextprotocol/serverInfo`) unless
 *   it names one already.
 *
 * @example
 * const wire = directCallResult(result, clientCapabilities, { name: 'airlock', version: '0.1.0' });
 */
import {
  type ClientCapabilities,
  type Implementation,
  isCallToolResult,
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  SERVER_INFO_META_KEY,
} from '@modelcontextprotocol/server';
import {
  missingAgentCapability,
  RELAYED_REQUEST_METHODS,
  type RelayedRequestMethod,
} from './upstream-interaction.js';

/** Keys that make a contentless result something other than a plain tool result (left as they are). */
const NOT_PLAIN_RESULT_KEYS = ['task', 'inputRequests', 'requestState'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The result as the SDK would put it on the wire; throws the `ProtocolError` the SDK would answer. */
export function directCallResult(
  result: unknown,
  capabilities: ClientCapabilities,
  serverInfo: Implementation,
): Record<string, unknown> {
  // A task handle (the tasks extension, task-extension.ts): relayed as the upstream made it.
  if (isPlainObject(result) && result.resultType === 'task') return withServerInfo(result, serverInfo);
  if (isInputRequiredResult(result)) {
    checkInputRequests(result as Record<string, unknown>, capabilities);
    return withServerInfo(result as Record<string, unknown>, serverInfo);
  }
  const normalized = withContent(result);
  if (!isCallToolResult(normalized)) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      'Invalid tools/call result: the upstream answered something that is not a CallToolResult',
    );
  }
  const stamped =
    normalized.resultType === undefined ? { ...normalized, resultType: 'complete' } : normalized;
  return withServerInfo(stamped, serverInfo);
}

function isRelayedRequestMethod(method: string): method is RelayedRequestMethod {
  return (RELAYED_REQUEST_METHODS as readonly string[]).includes(method);
}

function withContent(result: unknown): unknown {
  if (!isPlainObject(result) || result.content !== undefined) return result;
  if (NOT_PLAIN_RESULT_KEYS.some((key) => key in result)) return result;
  return { ...result, content: [] };
}

function checkInputRequests(result: Record<string, unknown>, capabilities: ClientCapabilities): void {
  const requests = isPlainObject(result.inputRequests) ? result.inputRequests : {};
  if (Object.keys(requests).length === 0 && typeof result.requestState !== 'string') {
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      'Handler for tools/call returned an input-required result with neither inputRequests nor requestState (every InputRequiredResult must include at least one of the two)',
    );
  }
  for (const [key, entry] of Object.entries(requests)) {
    const request = isPlainObject(entry) ? entry : {};
    const method = typeof request.method === 'string' ? request.method : '';
    const params = isPlainObject(request.params) ? request.params : undefined;
    const missing = isRelayedRequestMethod(method)
      ? missingAgentCapability({ method, ...(params ? { params } : {}) }, capabilities)
      : 'a known input request';
    if (missing === undefined) continue;
    throw new ProtocolError(
      ProtocolErrorCode.MissingRequiredClientCapability,
      `Cannot request input '${key}' (${method}): the request's client capabilities do not declare the required capability`,
      { requiredCapabilities: { [missing.split('.')[0] ?? missing]: {} } },
    );
  }
}

function withServerInfo(
  result: Record<string, unknown>,
  serverInfo: Implementation,
): Record<string, unknown> {
  const meta = result._meta;
  if (meta === undefined) return { ...result, _meta: { [SERVER_INFO_META_KEY]: serverInfo } };
  if (!isPlainObject(meta) || meta[SERVER_INFO_META_KEY] !== undefined) return result;
  return { ...result, _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } };
}
