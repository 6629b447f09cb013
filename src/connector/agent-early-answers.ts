/**
 * How the tenant endpoint answers before a request is authenticated: refusals that end the
 * connection, the OAuth bearer refusal with its `WWW-Authenticate`, and host names of URLs.
 */
import type { ServerResponse } from 'node:http';
import { JSONRPC_UNAUTHENTICATED } from '../gateway/stages/authenticate-stage.js';
import type { BearerRefusal } from './agent-bearer-auth.js';

/**
 * A refusal before authentication ends the connection (`Connection: close`, Node closes the socket once
 * the answer is written): a stranger cannot keep a tenant's connection slot at the relay open by
 * sending an unauthenticated request every few seconds.
 */
export function closeAfterResponse(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
}

export function writeBearerRefusal(res: ServerResponse, refusal: BearerRefusal): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({
    jsonrpc: '2.0',
    id: null,
    error: { code: JSONRPC_UNAUTHENTICATED, message: refusal.message, data: { airlock: refusal.airlock } },
  });
  res.writeHead(refusal.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...refusal.headers,
  });
  res.end(text);
}

export function hostnameOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
