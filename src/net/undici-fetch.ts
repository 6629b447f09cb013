/**
 * A `fetch` for talking to HTTP services over a long-lived undici `Agent` (keep-alive connections,
 * a bounded number per origin), at a fraction of the CPU of the global WHATWG `fetch`: requests go
 * through `dispatcher.request()` without building a `Request`, and answers become a `Response` the
 * cheap way (undici-response.ts: `text/event-stream` streamed as it arrives, anything else read whole).
 * The connector's MCP clients use it towards HTTP upstreams (src/connector/connector-upstreams.ts).
 *
 * The fast path is what the MCP SDK's Streamable HTTP transport sends: `redirect: 'manual'` (the SDK
 * follows same-origin redirects itself) or `'error'`, a string / byte body, an http(s) URL. Anything
 * else (`redirect: 'follow'`, the default; stream, form or blob bodies; odd methods or URLs) goes to
 * undici's own `fetch` over the same `Agent`, with the full WHATWG semantics, redirects included.
 * Like `fetch`: a network failure rejects with `TypeError('fetch failed', { cause })`, an abort with
 * the signal's reason; `accept: *\/*` and `user-agent: node` are added when absent, and a string body
 * without `content-type` is sent as `text/plain;charset=UTF-8`. Unlike it, no `accept-encoding` is
 * sent (compressed answers are still decoded), and `Response.type` is `default`.
 *
 * TLS: the system roots and `NODE_EXTRA_CA_CERTS`, as for the global `fetch`; `ca` replaces them with
 * a private CA for every connection of this fetch.
 *
 * @example
 * const upstreamFetch = createUndiciFetch({ connections: 64 });
 * const res = await upstreamFetch('http://127.0.0.1:8080/mcp', { method: 'POST', body, headers, redirect: 'manual' });
 * await upstreamFetch.close();
 */
import { EventEmitter } from 'node:events';
import { Agent, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from 'undici';
import { fetchFailure, responseOf } from './undici-response.js';

/** Connections kept per origin (one upstream); requests beyond wait for a free one. */
export const DEFAULT_UNDICI_FETCH_CONNECTIONS = 256;
/**
 * How long an idle keep-alive connection is kept (a server's `Keep-Alive: timeout` hint can only
 * shorten it): undici's and the global fetch's default, below Node's 5 s server keep-alive so the
 * client gives an idle connection up before a Node server closes it under a new request.
 */
export const DEFAULT_UNDICI_FETCH_KEEP_ALIVE_MS = 4_000;
/** Time until the response headers arrive: undici's and the global fetch's default, 300 s. */
export const DEFAULT_UNDICI_FETCH_HEADERS_TIMEOUT_MS = 300_000;
/** Longest silence between two body chunks (an idle SSE stream): undici's and the global fetch's default. */
export const DEFAULT_UNDICI_FETCH_BODY_TIMEOUT_MS = 300_000;
/**
 * Largest answer read whole (a JSON body, after decoding): above the policy's largest `maxResponseBytes`
 * (256 MiB), so the policy decides, and below what one V8 string holds. An answer over it fails like a
 * lost connection instead of filling the connector's memory. SSE streams are read as they arrive.
 */
export const DEFAULT_UNDICI_FETCH_MAX_BODY_BYTES = 300 * 1024 * 1024;
/** TCP connect + TLS handshake: undici's and the global fetch's default. */
export const DEFAULT_UNDICI_FETCH_CONNECT_TIMEOUT_MS = 10_000;
/** As the global fetch does: a signal shared by many requests in flight may carry this many listeners. */
const SHARED_SIGNAL_MAX_LISTENERS = 1_500;
/** Methods `fetch` upper-cases; PATCH is sent as given and allowed when written so. */
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

export interface UndiciFetchOptions {
  /** Connections per origin. Default {@link DEFAULT_UNDICI_FETCH_CONNECTIONS}. */
  connections?: number;
  /** Idle keep-alive time of a connection. Default {@link DEFAULT_UNDICI_FETCH_KEEP_ALIVE_MS}. */
  keepAliveTimeoutMs?: number;
  /** Time until response headers, 0 = none. Default {@link DEFAULT_UNDICI_FETCH_HEADERS_TIMEOUT_MS}. */
  headersTimeoutMs?: number;
  /** Silence allowed between body chunks, 0 = none. Default {@link DEFAULT_UNDICI_FETCH_BODY_TIMEOUT_MS}. */
  bodyTimeoutMs?: number;
  /** TCP connect + TLS handshake. Default {@link DEFAULT_UNDICI_FETCH_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Largest answer read whole, in bytes. Default {@link DEFAULT_UNDICI_FETCH_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** CA certificate(s), PEM, trusted instead of the system roots (a private CA). Default: system roots. */
  ca?: string | string[];
}

/** A `fetch` with the connection pool behind it. */
export interface UndiciFetch {
  (url: string | URL, init?: RequestInit): Promise<Response>;
  /** The undici dispatcher holding the connections. */
  readonly dispatcher: Agent;
  /** Closes every connection at once; requests still in flight fail and later ones reject. */
  close(): Promise<void>;
}

type FastBody = string | Uint8Array | null;

/** The body as the fast path sends it, or `undefined` for a kind it leaves to undici's fetch. */
function fastBody(body: RequestInit['body']): FastBody | undefined {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return body;
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return undefined;
}

/** The method as fetch sends it, or `undefined` for one left to undici's fetch (CONNECT, TRACE, …). */
function fastMethod(method: string | undefined): string | undefined {
  if (method === undefined) return 'GET';
  const upper = method.toUpperCase();
  if (NORMALIZED_METHODS.has(upper)) return upper;
  return method === 'PATCH' ? method : undefined;
}

/** The request headers as undici's flat name/value list, with fetch's defaults for missing ones. */
function requestHeaders(init: RequestInit, body: FastBody): string[] {
  const given = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
  const flat: string[] = [];
  given.forEach((value, name) => {
    flat.push(name, value);
  });
  if (!given.has('accept')) flat.push('accept', '*/*');
  if (!given.has('user-agent')) flat.push('user-agent', 'node');
  if (typeof body === 'string' && !given.has('content-type'))
    flat.push('content-type', 'text/plain;charset=UTF-8');
  return flat;
}

/** The URL when the fast path can take it (http or https, no credentials). */
function fastUrl(url: string | URL): URL | undefined {
  let parsed: URL;
  if (typeof url === 'string') {
    if (!URL.canParse(url)) return undefined;
    parsed = new URL(url);
  } else parsed = url;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  return parsed.username || parsed.password ? undefined : parsed;
}

/** Lets one signal carry the listeners of many requests in flight without a leak warning (as fetch). */
function allowSharedSignal(signal: AbortSignal): void {
  if (EventEmitter.getMaxListeners(signal) < SHARED_SIGNAL_MAX_LISTENERS)
    EventEmitter.setMaxListeners(SHARED_SIGNAL_MAX_LISTENERS, signal);
}

function agentFor(options: UndiciFetchOptions): Agent {
  return new Agent({
    connections: options.connections ?? DEFAULT_UNDICI_FETCH_CONNECTIONS,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_UNDICI_FETCH_KEEP_ALIVE_MS,
    headersTimeout: options.headersTimeoutMs ?? DEFAULT_UNDICI_FETCH_HEADERS_TIMEOUT_MS,
    bodyTimeout: options.bodyTimeoutMs ?? DEFAULT_UNDICI_FETCH_BODY_TIMEOUT_MS,
    connect: {
      timeout: options.connectTimeoutMs ?? DEFAULT_UNDICI_FETCH_CONNECT_TIMEOUT_MS,
      ...(options.ca ? { ca: options.ca } : {}),
    },
  });
}

/**
 * Creates a `fetch` over a new undici `Agent`. Close it when done (`close()`).
 *
 * @example
 * const f = createUndiciFetch({ ca: privateCaPem, headersTimeoutMs: 600_000 });
 * const transport = new StreamableHTTPClientTransport(new URL('https://erp.internal/mcp'), { fetch: f });
 */
export function createUndiciFetch(options: UndiciFetchOptions = {}): UndiciFetch {
  const dispatcher = agentFor(options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_UNDICI_FETCH_MAX_BODY_BYTES;
  const slow = (url: string | URL, init: RequestInit | undefined): Promise<Response> =>
    undiciFetch(url, {
      ...(init as UndiciRequestInit | undefined),
      dispatcher,
    }) as unknown as Promise<Response>;

  const send = async (url: URL, init: RequestInit, method: string, body: FastBody): Promise<Response> => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw signal.reason;
    if (signal) allowSharedSignal(signal);
    let data: Awaited<ReturnType<Agent['request']>>;
    try {
      data = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers: requestHeaders(init, body),
        body,
        signal,
      });
    } catch (err) {
      throw fetchFailure(err, signal);
    }
    return responseOf(data, {
      method,
      url,
      signal,
      redirect: init.redirect === 'error' ? 'error' : 'manual',
      maxBodyBytes,
    });
  };

  const fetchFn = (url: string | URL, init?: RequestInit): Promise<Response> => {
    if (init?.redirect !== 'manual' && init?.redirect !== 'error') return slow(url, init);
    const target = fastUrl(url);
    const method = fastMethod(init.method);
    const body = fastBody(init.body);
    if (!target || !method || body === undefined) return slow(url, init);
    if (body !== null && (method === 'GET' || method === 'HEAD')) return slow(url, init);
    return send(target, init, method, body);
  };
  return Object.assign(fetchFn, { dispatcher, close: () => dispatcher.destroy() });
}
