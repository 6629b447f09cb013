/**
 * The wire errors an agent sees when the upstream side fails. Upstream JSON-RPC errors themselves are
 * passed through unchanged; these are for failures of the connection to the upstream.
 */
import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { JSONRPC_INTERNAL_ERROR, WireError } from '../errors/wire-error.js';
import { redactedErrorText } from '../pii/log-redaction.js';
import { isHttpConnectionFailure } from './upstream-wire.js';

/**
 * The upstream is down (process exited, connection lost, not started yet) and is being restarted.
 *
 * @example
 * throw upstreamUnavailable('erp', 'process exited'); // -32603, data.airlock AIRLOCK_UPSTREAM_UNAVAILABLE
 */
export function upstreamUnavailable(upstream: string, reason?: string): WireError {
  const why = reason ? ` (${reason})` : '';
  return new WireError(
    JSONRPC_INTERNAL_ERROR,
    'AIRLOCK_UPSTREAM_UNAVAILABLE',
    `Upstream MCP server '${upstream}' is unavailable${why} and is restarting; retry shortly`,
    { upstream },
  );
}

/** The upstream did not answer within its timeout. */
export function upstreamTimeout(upstream: string, timeoutMs: number): WireError {
  return new WireError(
    JSONRPC_INTERNAL_ERROR,
    'AIRLOCK_UPSTREAM_TIMEOUT',
    `Upstream MCP server '${upstream}' did not answer within ${timeoutMs} ms`,
    { upstream, timeoutMs },
  );
}

/** The upstream answered with something the gateway could not use (invalid result, protocol mismatch). */
export function upstreamFailed(upstream: string, what: string): WireError {
  return new WireError(
    JSONRPC_INTERNAL_ERROR,
    'AIRLOCK_UPSTREAM_FAILED',
    `Upstream MCP server '${upstream}' failed: ${what}`,
    {
      upstream,
    },
  );
}

/** The agent cancelled the request (never reaches the agent; the SDK drops answers to cancelled requests). */
export function requestCancelled(): WireError {
  return new WireError(JSONRPC_INTERNAL_ERROR, 'AIRLOCK_REQUEST_CANCELLED', 'Request cancelled by the agent');
}

/**
 * What a failed request says about the upstream connection: `answer` is returned as it is; `down`
 * means the connection is lost (the caller restarts it and answers unavailable); `unexpected` is
 * logged and answered as a generic failure.
 */
export type UpstreamFailure =
  | { kind: 'answer'; error: Error }
  | { kind: 'down'; reason: string }
  | { kind: 'unexpected' };

/**
 * Classifies an error thrown by the SDK client for a request to `upstream` over `transport`.
 *
 * @example
 * const failure = classifyUpstreamFailure(err, { upstream: 'erp', transport: 'http', timeoutMs: 60_000 });
 */
export function classifyUpstreamFailure(
  err: unknown,
  target: { upstream: string; transport: 'stdio' | 'http'; timeoutMs: number },
): UpstreamFailure {
  if (err instanceof ProtocolError || err instanceof WireError) return { kind: 'answer', error: err };
  if (err instanceof SdkError) {
    if (err.code === SdkErrorCode.RequestTimeout)
      return { kind: 'answer', error: upstreamTimeout(target.upstream, target.timeoutMs) };
    if (err.code === SdkErrorCode.ConnectionClosed || err.code === SdkErrorCode.NotConnected)
      return { kind: 'down', reason: 'connection closed' };
    if (target.transport === 'http' && isHttpConnectionFailure(err))
      return { kind: 'down', reason: `connection failed: ${err.message}` };
    return { kind: 'answer', error: upstreamFailed(target.upstream, err.code) };
  }
  // fetch() rejects with TypeError('fetch failed') when the service is unreachable.
  if (target.transport === 'http' && err instanceof TypeError)
    return { kind: 'down', reason: `connection failed: ${redactedErrorText(err)}` };
  return { kind: 'unexpected' };
}
