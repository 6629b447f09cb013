/**
 * A plain 2026-07-28 `tools/call` to a Streamable HTTP upstream, posted without the SDK client's
 * per-request machinery (its request table, timers, message classification and result decoding, about a
 * tenth of the connector's CPU per call). The SDK client still owns the connection: it negotiated the
 * revision, holds the upstream's capabilities and receives every message of the answer that is not the
 * call's own response (notifications, server requests), as its transport would have delivered them.
 *
 * What goes on the wire and what comes back is what the SDK client sends and accepts
 * (`test/mcp/upstream-direct-call.test.ts` compares both against a real SDK server):
 * - headers: the configured static headers, `Content-Type`, `Accept`, `MCP-Protocol-Version`,
 *   `Mcp-Method`, `Mcp-Name`; the body's `_meta` carries the SDK's envelope under the caller's own keys;
 * - a JSON or an SSE answer; a JSON-RPC error becomes the SDK's `ProtocolError` (also from a 400);
 * - the result is decoded as the SDK's 2026-07-28 codec does: `complete` (lifted, checked as a
 *   `CallToolResult`), `input_required` (returned as is), anything else refused;
 * - failures are the SDK's error classes with its codes (`SdkHttpError` for an HTTP status,
 *   `SdkError` `RequestTimeout`, `InvalidResult`, `UnsupportedResultType`, `ClientHttpUnexpectedContent`),
 *   and an unreachable upstream is fetch's own `TypeError`, so the caller's error mapping is unchanged.
 *
 * Not taken (the SDK client serves them): another method or era, stdio, an `Mcp-Name` value that needs
 * the SDK's encoding. A redirect answer ends the direct attempt with `DirectCallRedirected` (the upstream
 * did not take the call): the caller sends the call through the SDK client, which follows a
 * method-keeping redirect within the origin and refuses any other, exactly as without direct calls.
 *
 * @example
 * const result = await postDirectCall(target, { name: 'echo', arguments: { text: 'hi' } }, { signal, timeoutMs: 60_000 });
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type Client,
  type FetchLike,
  type Implementation,
  isCallToolResult,
  type JSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  type Progress,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  type Transport,
} from '@modelcontextprotocol/client';
import { createParser } from 'eventsource-parser';
import { declaresTasksExtension, isTaskShape } from './task-extension.js';
import type { UpstreamConfig } from './upstream-config.js';
import type { UpstreamOptions } from './upstream-types.js';
import { upstreamClientInfo } from './upstream-wire.js';

/** The connection facts a direct call needs, read from the live SDK client and the upstream config. */
export interface DirectCallTarget {
  url: URL;
  fetch: FetchLike;
  /** The upstream's static headers (`headers` in connector.yaml). */
  headers: Readonly<Record<string, string>> | undefined;
  /** The revision the SDK client negotiated (a 2026-07-28 one). */
  protocolVersion: string;
  clientInfo: Implementation;
  /** Where the other messages of an answer go: the SDK client's own message handler. */
  deliver: (message: JSONRPCMessage) => void;
}

export interface DirectCallOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /** Progress of this call (its id is sent as `progressToken`, as the SDK client does). */
  onprogress?: (progress: Progress) => void;
}

/** Named channel: one message `{ url, tool }` per call posted directly (the upstream's URL, the tool). */
export const UPSTREAM_DIRECT_CALL_CHANNEL = 'airlock:mcp:upstream-direct-call';
const upstreamDirectCallChannel = diagnosticsChannel.channel(UPSTREAM_DIRECT_CALL_CHANNEL);

/** Each upstream's parsed URL, made once rather than per call. */
const parsedUrls = new WeakMap<UpstreamConfig, URL>();

/**
 * Where a plain 2026-07-28 `tools/call` on this connection can be posted directly: an HTTP upstream,
 * option `directCalls` on, a live SDK connection, a tool name the SDK would send verbatim in `Mcp-Name`.
 */
export function directCallTarget(
  config: UpstreamConfig,
  options: UpstreamOptions,
  client: Client,
  transport: Transport | undefined,
  wire: Record<string, unknown>,
): DirectCallTarget | undefined {
  const deliver = transport?.onmessage;
  const version = client.getNegotiatedProtocolVersion();
  if (config.kind !== 'http' || options.directCalls === false || !deliver || !version) return undefined;
  if (typeof wire.name !== 'string' || !isPlainHeaderValue(wire.name)) return undefined;
  let url = parsedUrls.get(config);
  if (!url) {
    url = new URL(config.url);
    parsedUrls.set(config, url);
  }
  return {
    url,
    fetch: options.fetch ?? fetch,
    headers: config.headers,
    protocolVersion: version,
    clientInfo: upstreamClientInfo(options),
    deliver: (message) => deliver(message),
  };
}

/** HTTP statuses that redirect (the SDK client's set). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The upstream answered a direct call with a redirect: it did not take the call; the SDK client must send it. */
export class DirectCallRedirected extends Error {
  constructor(readonly status: number) {
    super(`the upstream redirected a direct call (HTTP ${status})`);
    this.name = 'DirectCallRedirected';
  }
}

/** Ids of direct calls: far above the SDK client's own counter (which starts at 0), so they never meet. */
let nextId = 2 ** 40;

/** `Mcp-Name` values the SDK sends verbatim (printable ASCII, no surrounding space); others take the SDK path. */
export function isPlainHeaderValue(value: string): boolean {
  return /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value);
}

/** Posts `tools/call` with `params` (the caller's `_meta` included) and returns the decoded result. */
export async function postDirectCall(
  target: DirectCallTarget,
  params: Record<string, unknown>,
  options: DirectCallOptions,
): Promise<Record<string, unknown>> {
  const id = nextId++;
  if (upstreamDirectCallChannel.hasSubscribers) {
    upstreamDirectCallChannel.publish({ url: target.url.href, tool: params.name });
  }
  const abort = new AbortController();
  const onAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let expire: (err: Error) => void = () => {};
  const timedOut = new Promise<never>((_, reject) => {
    expire = reject;
  });
  // Like the SDK client's `resetTimeoutOnProgress`: each progress notification restarts the clock.
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      expire(new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout: options.timeoutMs }));
      abort.abort();
    }, options.timeoutMs);
  };
  arm();
  const onprogress = options.onprogress;
  const reportProgress = onprogress
    ? (progress: Progress) => {
        arm();
        onprogress(progress);
      }
    : undefined;
  const route = messageRouter(id, target, reportProgress);
  try {
    const exchange = exchangeCall(target, id, withProgressToken(params, id, options), route, abort.signal);
    exchange.catch(() => {}); // after a timeout, the aborted exchange's own rejection is not the answer
    return decodeCallResult(await Promise.race([exchange, timedOut]), acceptsTask(params));
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** With a progress callback the request carries its id as `progressToken`, as the SDK client sends it. */
function withProgressToken(
  params: Record<string, unknown>,
  id: number,
  options: DirectCallOptions,
): Record<string, unknown> {
  if (!options.onprogress) return params;
  return { ...params, _meta: { ...(isRecord(params._meta) ? params._meta : {}), progressToken: id } };
}

/** Where each message of the answer goes: the response is returned, this call's progress reported, the rest delivered. */
type Route = (message: Record<string, unknown>) => Record<string, unknown> | undefined;

function messageRouter(
  id: number,
  target: DirectCallTarget,
  onprogress: ((p: Progress) => void) | undefined,
): Route {
  return (message) => {
    if (message.id === id && !('method' in message)) return message;
    const params = message.params;
    if (message.method === 'notifications/progress' && isRecord(params) && params.progressToken === id) {
      const { progressToken: _token, ...progress } = params;
      onprogress?.(progress as Progress);
      return undefined;
    }
    target.deliver(message as JSONRPCMessage);
    return undefined;
  };
}

/** Sends the request and reads its answer until the response with `id`. */
async function exchangeCall(
  target: DirectCallTarget,
  id: number,
  params: Record<string, unknown>,
  route: Route,
  signal: AbortSignal,
): Promise<unknown> {
  const name = params.name;
  const meta = isRecord(params._meta) ? params._meta : {};
  const body = JSON.stringify({
    method: 'tools/call',
    params: { ...params, _meta: { ...envelopeOf(target), ...meta } },
    jsonrpc: '2.0',
    id,
  });
  const headers = new Headers(target.headers);
  headers.set('mcp-protocol-version', target.protocolVersion);
  headers.set('mcp-method', 'tools/call');
  if (typeof name === 'string') headers.set('mcp-name', name);
  headers.set('content-type', 'application/json');
  headers.set('accept', 'application/json, text/event-stream');
  const response = await target.fetch(target.url, {
    method: 'POST',
    headers,
    body,
    signal,
    redirect: 'manual',
  });
  if (REDIRECT_STATUSES.has(response.status) && response.headers.has('location')) {
    await response.text().catch(() => {});
    throw new DirectCallRedirected(response.status);
  }
  if (!response.ok) return refusedAnswer(response, id);
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/json') return responseIn(await response.json(), route);
  if (mediaType === 'text/event-stream' && response.body) return readSseAnswer(response.body, route);
  await response.text().catch(() => {});
  throw new SdkError(
    SdkErrorCode.ClientHttpUnexpectedContent,
    `Unexpected content type: ${response.headers.get('content-type')}`,
    { contentType: response.headers.get('content-type') },
  );
}

/** The SDK's request envelope for this connection (the caller's `_meta` keys are laid over it). */
function envelopeOf(target: DirectCallTarget): Record<string, unknown> {
  return {
    [PROTOCOL_VERSION_META_KEY]: target.protocolVersion,
    [CLIENT_INFO_META_KEY]: target.clientInfo,
    [CLIENT_CAPABILITIES_META_KEY]: {},
  };
}

/** A non-2xx answer: a 2026-07-28 JSON-RPC error for this request (HTTP 400), else the SDK's HTTP error. */
async function refusedAnswer(response: Response, id: number): Promise<never> {
  const text = await response.text().catch(() => null);
  if (response.status === 400 && typeof text === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (isRecord(parsed) && parsed.id === id && isRecord(parsed.error)) throw protocolErrorOf(parsed.error);
  }
  throw new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, `Error POSTing to endpoint: ${text}`, {
    status: response.status,
    statusText: response.statusText,
    text: text ?? undefined,
  });
}

/** The response in a JSON answer (one message or a batch); the other messages are routed. */
function responseIn(data: unknown, route: Route): unknown {
  let found: Record<string, unknown> | undefined;
  for (const message of Array.isArray(data) ? data : [data]) {
    if (isRecord(message)) found = route(message) ?? found;
  }
  if (!found) throw new SdkError(SdkErrorCode.InvalidResult, 'Invalid result for tools/call: no response');
  return settled(found);
}

/** Reads SSE events until the response; the other messages are routed as they arrive. */
async function readSseAnswer(body: ReadableStream<Uint8Array>, route: Route): Promise<unknown> {
  let found: Record<string, unknown> | undefined;
  const parser = createParser({
    onEvent: (event) => {
      if (found || (event.event !== undefined && event.event !== 'message') || event.data === '') return;
      const message = parsedEvent(event.data);
      if (isRecord(message)) found = route(message);
    },
  });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    while (!found) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (!found) {
    throw new SdkError(SdkErrorCode.ConnectionClosed, 'The answer stream ended before the response');
  }
  return settled(found);
}

/** An SSE event's JSON-RPC message; an unparseable event is skipped, as the SDK transport skips it. */
function parsedEvent(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** A response message → its result, or the SDK's `ProtocolError` for an error response. */
function settled(response: Record<string, unknown>): unknown {
  if (isRecord(response.error)) throw protocolErrorOf(response.error);
  return response.result;
}

function protocolErrorOf(error: Record<string, unknown>): ProtocolError {
  const code = typeof error.code === 'number' ? error.code : -32603;
  const message = typeof error.message === 'string' ? error.message : 'Unknown error';
  return ProtocolError.fromError(code, message, error.data);
}

/** Whether the request's envelope declares the tasks extension (a task answer is then the agent's to take). */
function acceptsTask(params: Record<string, unknown>): boolean {
  const meta = params._meta;
  return isRecord(meta) && declaresTasksExtension(meta[CLIENT_CAPABILITIES_META_KEY]);
}

/**
 * The 2026-07-28 codec's decoding of a `tools/call` result, `input_required` left to the caller; a task
 * handle (`resultType: "task"`, SEP-2663) is returned as it came when the request declared the extension
 * (task-extension.ts), and refused like any unsupported result type when it did not.
 */
function decodeCallResult(raw: unknown, taskAllowed: boolean): Record<string, unknown> {
  if (!isRecord(raw)) throw invalidResult('not an object');
  const resultType = raw.resultType;
  if (typeof resultType !== 'string') throw invalidResult('missing or non-string resultType');
  if (resultType === 'task' && taskAllowed) {
    if (!isTaskShape(raw)) throw invalidResult('not a task: needs a string taskId and a known status');
    return raw;
  }
  if (resultType === 'input_required') {
    const inputRequests = isRecord(raw.inputRequests) ? raw.inputRequests : {};
    const requestState = raw.requestState;
    if (Object.keys(inputRequests).length === 0 && typeof requestState !== 'string') {
      throw invalidResult('input_required carries neither inputRequests nor requestState');
    }
    return {
      resultType,
      inputRequests,
      ...(typeof requestState === 'string' ? { requestState } : {}),
      ...(isRecord(raw._meta) ? { _meta: raw._meta } : {}),
    };
  }
  if (resultType !== 'complete') {
    throw new SdkError(
      SdkErrorCode.UnsupportedResultType,
      `Unsupported result type '${resultType}' for tools/call`,
      { resultType, method: 'tools/call' },
    );
  }
  const { resultType: _complete, ...lifted } = raw;
  if (!isCallToolResult(lifted)) throw invalidResult('not a CallToolResult');
  return lifted;
}

function invalidResult(why: string): SdkError {
  return new SdkError(SdkErrorCode.InvalidResult, `Invalid result for tools/call: ${why}`, {
    method: 'tools/call',
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
