/**
 * HTTP-level refusals in JSON-RPC error shape (`{ jsonrpc, id: null, error: { code, message, data } }`),
 * so MCP clients surface the reason: used for 401 (identity), 403 (host), 404 (session), 413, 503.
 */
import type { ServerResponse } from 'node:http';

export interface HttpRefusal {
  status: number;
  /** JSON-RPC error code. */
  code: number;
  /** Stable `AIRLOCK_*` code, in `error.data.airlock`. */
  airlock: string;
  message: string;
  headers?: Record<string, string>;
}

function body(refusal: HttpRefusal): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: null,
    error: { code: refusal.code, message: refusal.message, data: { airlock: refusal.airlock } },
  });
}

/**
 * A web-standard `Response` for a refusal.
 *
 * @example
 * return refusalResponse({ status: 404, code: -32001, airlock: 'AIRLOCK_SESSION_NOT_FOUND', message: 'Session not found' });
 */
export function refusalResponse(refusal: HttpRefusal): Response {
  return new Response(body(refusal), {
    status: refusal.status,
    headers: { 'content-type': 'application/json', ...refusal.headers },
  });
}

/** Writes a refusal on a Node response (and ends it). */
export function writeRefusal(res: ServerResponse, refusal: HttpRefusal): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = body(refusal);
  res.writeHead(refusal.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...refusal.headers,
  });
  res.end(text);
}
