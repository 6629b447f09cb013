/**
 * The wire errors an agent sees when the upstream side fails. Upstream JSON-RPC errors themselves are
 * passed through unchanged; these are for failures of the connection to the upstream.
 */
import { JSONRPC_INTERNAL_ERROR, WireError } from '../errors/wire-error.js';

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
