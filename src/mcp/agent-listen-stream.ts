/**
 * 2026-07-28 `subscriptions/listen` on the agent endpoint. The SDK's listen router serves the stream;
 * around it the endpoint:
 *
 * 1. admits the request through the gateway pipeline (audit, budget, authorize, pii) as the request it
 *    is — the pii stage de-tokenizes the `resourceSubscriptions` URIs;
 * 2. hands the SDK a request whose filter holds the real URIs (upstreams report real URIs) and subscribes
 *    them at their upstreams for as long as the stream is open;
 * 3. passes every event of the stream through the redaction boundary (`guardEventStream`), so URIs and
 *    the acknowledged filter reach the agent tokenized again.
 *
 * @example
 * return serveListen(request, authInfo, { maxSubscriptions, admit, catalog, serve: (r) => modern.fetch(r, { authInfo }), log });
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { JSONRPC_INVALID_PARAMS } from '../errors/wire-error.js';
import type { OutboundMessage } from '../pii/pii-boundary.js';
import { guardEventStream } from './agent-outbound-guard.js';
import { refusalResponse } from './json-rpc-http-error.js';
import type { UpstreamCatalog } from './upstream-catalog.js';

export interface ListenDeps {
  maxSubscriptions: number;
  /** Runs the pipeline: a refusal, or the URIs the upstreams know (de-tokenized). */
  admit: (
    request: Request,
    authInfo: AuthInfo | undefined,
    uris: string[],
  ) => Promise<{ refusal: Response } | { uris: string[] }>;
  catalog: Pick<UpstreamCatalog, 'subscribeResource' | 'unsubscribeResource'>;
  /** The SDK's modern handler. */
  serve: (request: Request) => Promise<Response>;
  /** The boundary for this stream's events (absent: events pass as they are). */
  filter?: ((message: OutboundMessage) => Promise<OutboundMessage | undefined>) | undefined;
  log: Logger;
}

export async function serveListen(
  request: Request,
  authInfo: AuthInfo | undefined,
  deps: ListenDeps,
): Promise<Response> {
  const body = await readBody(request);
  const asked = listenedResourceUris(body);
  if (asked.length > deps.maxSubscriptions) {
    return refusalResponse({
      status: 400,
      code: JSONRPC_INVALID_PARAMS,
      airlock: 'AIRLOCK_LIMIT_SUBSCRIPTIONS',
      message: `At most ${deps.maxSubscriptions} resource subscriptions per stream (asked: ${asked.length})`,
    });
  }
  const admitted = await deps.admit(request, authInfo, asked);
  if ('refusal' in admitted) return admitted.refusal;
  const uris = admitted.uris;
  const forward = sameUris(asked, uris) ? request : withFilterUris(request, body, uris);
  const held: string[] = [];
  for (const uri of uris) {
    try {
      await deps.catalog.subscribeResource(uri);
      held.push(uri);
    } catch (err) {
      deps.log.debug({ err: err instanceof Error ? err.name : 'error' }, 'listen: resource not subscribed');
    }
  }
  const release = () => {
    for (const uri of held.splice(0)) void deps.catalog.unsubscribeResource(uri).catch(() => {});
  };
  let response: Response;
  try {
    response = await deps.serve(forward);
  } catch (err) {
    release();
    throw err;
  }
  if (!response.body) {
    release();
    return response;
  }
  const guarded = deps.filter ? guardEventStream(response.body, deps.filter) : response.body;
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return new Response(releasingWhenDone(guarded, release), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

async function readBody(request: Request): Promise<unknown> {
  try {
    return await request.clone().json();
  } catch {
    return undefined; // an unreadable body: the SDK answers it with its own parse error
  }
}

/** The resource URIs a `subscriptions/listen` request's filter names (none if unreadable). */
function listenedResourceUris(body: unknown): string[] {
  const uris = (body as { params?: { notifications?: { resourceSubscriptions?: unknown } } } | undefined)
    ?.params?.notifications?.resourceSubscriptions;
  if (!Array.isArray(uris)) return [];
  return [...new Set(uris.filter((u): u is string => typeof u === 'string'))];
}

function sameUris(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((u, i) => u === b[i]);
}

/** The same request with the filter's resource URIs replaced (de-tokenized). */
function withFilterUris(request: Request, body: unknown, uris: string[]): Request {
  const copy = structuredClone(body) as { params: { notifications: { resourceSubscriptions: string[] } } };
  copy.params.notifications.resourceSubscriptions = uris;
  const headers = new Headers(request.headers);
  headers.delete('content-length');
  return new Request(request.url, {
    method: request.method,
    headers,
    body: JSON.stringify(copy),
    signal: request.signal,
  });
}

/** A stream that passes `body` through and calls `release` once when it ends, fails or is cancelled. */
function releasingWhenDone(
  body: ReadableStream<Uint8Array>,
  release: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let released = false;
  const done = () => {
    if (released) return;
    released = true;
    release();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read();
        if (next.done) {
          done();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (err) {
        done();
        controller.error(err);
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
}
