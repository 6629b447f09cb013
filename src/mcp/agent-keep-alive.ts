/**
 * Keeps a long agent request (a call held for a human approval) alive when the agent asked for no
 * progress: the answer becomes an SSE stream at once, so response headers reach the agent now and the
 * SDK's SSE keep-alive comments (`: keepalive`, every `keepAliveMs`, default 15 s) flow until the
 * result. No message is written: nothing passes around the redaction boundary.
 *
 * - 2026-07-28 (per-request exchange): the SDK answers with JSON unless a message related to the request
 *   is sent first; a held call with no progress token would send no header until the decision, and an
 *   agent's headers timeout (undici: 30 s by default) would end it. {@link streamResponseNow} opens the
 *   SSE answer early.
 * - 2025-11-25 sessions: a POST is answered over SSE from the start (with the same keep-alive comments);
 *   nothing to do.
 *
 * @example
 * streamResponseNow(server.transport); // before waiting for a supervisor
 */
import { PerRequestHTTPServerTransport, type Transport } from '@modelcontextprotocol/server';

/** The SDK's per-request transport, seen through the part it keeps private (SDK 2.4: `upgradeToSse`). */
interface StreamingExchange {
  _sse?: unknown;
  _closed?: boolean;
  upgradeToSse?: () => void;
}

/**
 * Opens the SSE answer of a 2026-07-28 exchange that is not streaming yet. Returns whether the answer
 * is (now) a stream; `false` for transports that need nothing (2025-11-25 sessions) or when the SDK no
 * longer offers the hook.
 */
export function streamResponseNow(transport: Transport | undefined): boolean {
  if (!(transport instanceof PerRequestHTTPServerTransport)) return false;
  const exchange = transport as unknown as StreamingExchange;
  if (exchange._closed === true || typeof exchange.upgradeToSse !== 'function') return false;
  if (exchange._sse === undefined) exchange.upgradeToSse();
  return true;
}
